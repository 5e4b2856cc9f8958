package dev.hmem.runtime.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.config.ConfigException;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.ffn.MemoryPlan;
import dev.hmem.runtime.io.Checkpoint;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.io.SafeTensorsException;
import dev.hmem.runtime.io.SafeTensorsFile;
import dev.hmem.runtime.io.SafeTensorsWriter;
import dev.hmem.runtime.io.TensorInfo;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AnchorWeightsTest {

    static final ModelConfig CONFIG = TestModels.tinyConfig(300, 298, 299);

    static float[] logits(AnchorWeights w) {
        try (Transformer t = new Transformer(w); NDManager m = NDManager.newBaseManager()) {
            NDArray tokens = m.create(new long[] {1, 2, 3, 4, 5}, new Shape(1, 5));
            return t.forwardFull(tokens, MemoryPlan.EMPTY).toFloatArray();
        }
    }

    @Test
    void savedCheckpointReloadsWithTheSameLogitsAndFingerprint(@TempDir Path dir) throws Exception {
        try (AnchorWeights w = AnchorWeights.random(CONFIG, 1)) {
            String fp = w.save(dir, DType.F32);
            assertThat(fp).isEqualTo(w.fingerprint);
            try (AnchorWeights back = AnchorWeights.load(dir, ModelConfig.load(dir))) {
                assertThat(back.fingerprint).isEqualTo(w.fingerprint);
                assertThat(logits(back)).containsExactly(logits(w));
            }
            // Hugging Face names and shapes, as any Llama tool expects them.
            try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
                assertThat(f.info("model.layers.1.self_attn.k_proj.weight").shape()).containsExactly(32, 64);
                assertThat(f.info("model.layers.0.mlp.down_proj.weight").shape()).containsExactly(64, 96);
                assertThat(f.info("lm_head.weight").shape()).containsExactly(300, 64);
                assertThat(f.metadata()).containsEntry("format", "pt");
            }
        }
    }

    @Test
    void halfPrecisionCheckpointsLoadAndComputeInF32(@TempDir Path dir) throws Exception {
        try (AnchorWeights w = AnchorWeights.random(CONFIG, 1)) {
            float[] expected = logits(w);
            for (DType t : List.of(DType.BF16, DType.F16)) {
                Path d = Files.createDirectories(dir.resolve(t.name()));
                w.save(d, t);
                try (AnchorWeights back = AnchorWeights.load(d, ModelConfig.load(d))) {
                    assertThat(back.fingerprint).isNotEqualTo(w.fingerprint);
                    float[] got = logits(back);
                    double err = 0;
                    for (int i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - expected[i]));
                    assertThat(err).as(t.name()).isLessThan(t == DType.BF16 ? 5e-2 : 5e-3).isGreaterThan(0);
                }
            }
        }
    }

    @Test
    void shardedCheckpointsLoad(@TempDir Path dir) throws Exception {
        try (AnchorWeights w = AnchorWeights.random(CONFIG, 2)) {
            Path single = Files.createDirectories(dir.resolve("single"));
            w.save(single, DType.F32);
            Path sharded = Files.createDirectories(dir.resolve("sharded"));
            CONFIG.save(sharded);
            // Split the tensors over two shards and write the index, as transformers does.
            JsonObject map = new JsonObject();
            try (SafeTensorsFile f = SafeTensorsFile.open(single.resolve("model.safetensors"))) {
                List<List<String>> shards = List.of(new ArrayList<>(), new ArrayList<>());
                int i = 0;
                for (String name : f.tensors().keySet()) shards.get(i++ % 2).add(name);
                for (int s = 0; s < 2; s++) {
                    String file = "model-0000" + (s + 1) + "-of-00002.safetensors";
                    List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
                    List<float[]> data = new ArrayList<>();
                    for (String name : shards.get(s)) {
                        TensorInfo info = f.info(name);
                        entries.add(new SafeTensorsWriter.Entry(name, DType.F32, info.shape()));
                        data.add(f.readFloats(info));
                        map.addProperty(name, file);
                    }
                    SafeTensorsWriter.writeAll(sharded.resolve(file), Map.of("format", "pt"), entries, data);
                }
            }
            JsonObject index = new JsonObject();
            index.add("weight_map", map);
            Files.writeString(sharded.resolve(Checkpoint.INDEX_FILE), index.toString());
            try (AnchorWeights back = AnchorWeights.load(sharded, CONFIG)) {
                assertThat(logits(back)).containsExactly(logits(w));
            }
        }
    }

    @Test
    void missingTensorWrongShapeAndCorruptionAreClearErrors(@TempDir Path dir) throws Exception {
        try (AnchorWeights w = AnchorWeights.random(CONFIG, 3)) {
            Map<String, NDArray> all = new LinkedHashMap<>(w.unfused());

            Path missing = Files.createDirectories(dir.resolve("missing"));
            Map<String, NDArray> less = new LinkedHashMap<>(all);
            less.remove("model.layers.1.mlp.up_proj.weight");
            write(missing, less);
            assertThatThrownBy(() -> AnchorWeights.load(missing, CONFIG)).isInstanceOf(SafeTensorsException.class)
                    .hasMessageContaining("missing tensor 'model.layers.1.mlp.up_proj.weight'");

            Path shape = Files.createDirectories(dir.resolve("shape"));
            Map<String, NDArray> wrong = new LinkedHashMap<>(all);
            wrong.put("model.norm.weight", all.get("model.norm.weight").get("0:10"));
            write(shape, wrong);
            assertThatThrownBy(() -> AnchorWeights.load(shape, CONFIG))
                    .hasMessageContaining("'model.norm.weight' has shape [10]").hasMessageContaining("[64]");

            Path extra = Files.createDirectories(dir.resolve("extra"));
            Map<String, NDArray> more = new LinkedHashMap<>(all);
            more.put("model.layers.2.mlp.up_proj.weight", all.get("model.layers.1.mlp.up_proj.weight"));
            write(extra, more);
            assertThatThrownBy(() -> AnchorWeights.load(extra, CONFIG))
                    .hasMessageContaining("unexpected tensor(s) [model.layers.2.mlp.up_proj.weight]");

            Path corrupt = Files.createDirectories(dir.resolve("corrupt"));
            w.save(corrupt, DType.F32);
            TensorInfo info;
            long dataStart;
            try (SafeTensorsFile f = SafeTensorsFile.open(corrupt.resolve("model.safetensors"))) {
                info = f.info("model.layers.0.self_attn.o_proj.weight");
                dataStart = f.dataStart();
            }
            try (RandomAccessFile raf = new RandomAccessFile(corrupt.resolve("model.safetensors").toFile(), "rw")) {
                raf.seek(dataStart + info.begin() + 17);
                int b = raf.read();
                raf.seek(dataStart + info.begin() + 17);
                raf.write(b ^ 1);
            }
            assertThatThrownBy(() -> AnchorWeights.load(corrupt, CONFIG))
                    .hasMessageContaining("'model.layers.0.self_attn.o_proj.weight' is corrupt");

            Path noConfig = Files.createDirectories(dir.resolve("noconfig"));
            assertThatThrownBy(() -> ModelConfig.load(noConfig)).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("no config.json");
        }
    }

    static void write(Path dir, Map<String, NDArray> tensors) throws Exception {
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        tensors.forEach((name, arr) -> {
            entries.add(new SafeTensorsWriter.Entry(name, DType.F32, arr.getShape().getShape()));
            data.add(arr.toFloatArray());
        });
        SafeTensorsWriter.writeAll(dir.resolve("model.safetensors"), Map.of("format", "pt"), entries, data);
        CONFIG.save(dir);
    }
}
