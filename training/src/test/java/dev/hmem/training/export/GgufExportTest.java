package dev.hmem.training.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.config.ModelConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GGUF export read back by a reader written from the format's description (not from the writer):
 * header, metadata, descriptors, alignment, and tensors that give the same model.
 */
class GgufExportTest {

    @TempDir Path dir;

    /** A tiny model's export of {@code type}, read back; the model's weights loaded beside it. */
    private record Exported(Gguf gguf, AnchorWeights weights, ModelConfig config) {}

    private Exported export(long seed, GgufWriter.TensorType type) throws IOException {
        Path model = TestModels.tinyModel(dir.resolve("model-" + seed), seed);
        ModelConfig c = ModelConfig.load(model);
        Path out = dir.resolve("tiny-" + seed + "-" + type + ".gguf");
        AnchorWeights w = AnchorWeights.load(model, c);
        GgufExport.write(w, GgufExport.Vocabulary.of(model, c), "tiny", type, out);
        return new Exported(Gguf.read(out), w, c);
    }

    @Test
    void theExportReadsBackAsTheSameLlama() throws Exception {
        Exported e = export(3, GgufWriter.TensorType.F32);
        ModelConfig c = e.config;
        try (AnchorWeights w = e.weights) {
            Gguf g = e.gguf;
            assertThat(g.version).isEqualTo(3);
            assertThat(g.kv.get("general.architecture")).isEqualTo("llama");
            assertThat(g.kv.get("llama.block_count")).isEqualTo((long) c.numLayers());
            assertThat(g.kv.get("llama.embedding_length")).isEqualTo((long) c.hiddenSize());
            assertThat(g.kv.get("llama.attention.head_count_kv")).isEqualTo((long) c.numKvHeads());
            assertThat((float) g.kv.get("llama.rope.freq_base")).isEqualTo((float) c.ropeTheta());
            @SuppressWarnings("unchecked") List<String> tokens = (List<String>) g.kv.get("tokenizer.ggml.tokens");
            assertThat(tokens).hasSize(c.vocabSize());
            assertThat(tokens.get(TestModels.TOKENIZER_BOS)).isEqualTo("<|begin_of_text|>");
            assertThat(g.kv.get("tokenizer.ggml.bos_token_id")).isEqualTo((long) TestModels.TOKENIZER_BOS);
            assertThat(g.kv.get("tokenizer.ggml.add_bos_token")).isEqualTo(true);
            assertThat((List<?>) g.kv.get("tokenizer.ggml.merges")).isNotEmpty().allSatisfy(m -> assertThat((String) m).contains(" "));
            // 9 tensors per layer, the embedding, the final norm, and the LM head unless it is tied (llama.cpp then
            // uses the embedding).
            Map<String, NDArray> hf = w.unfused();
            assertThat(g.tensors).hasSize(2 + 9 * c.numLayers() + (c.tieWordEmbeddings() ? 0 : 1));
            if (c.tieWordEmbeddings()) {
                assertThat(g.tensors).doesNotContainKey("output.weight");
            } else {
                assertThat(g.floats("output.weight")).containsExactly(hf.get("lm_head.weight").toFloatArray());
            }
            assertThat(g.floats("token_embd.weight")).containsExactly(hf.get("model.embed_tokens.weight").toFloatArray());
            assertThat(g.tensors.get("blk.0.ffn_gate.weight").dims).containsExactly((long) c.hiddenSize(), (long) c.intermediateSize());
            assertThat(g.floats("blk.1.ffn_down.weight")).containsExactly(hf.get("model.layers.1.mlp.down_proj.weight").toFloatArray());
            // q and k hold the same rows, reordered within each head.
            float[] q = hf.get("model.layers.0.self_attn.q_proj.weight").toFloatArray();
            assertThat(g.floats("blk.0.attn_q.weight")).containsExactly(
                    GgufExport.interleaveRope(q, c.numHeads(), c.headDim(), c.hiddenSize()));
            for (Gguf.Info t : g.tensors.values()) assertThat(t.offset % GgufWriter.ALIGNMENT).isZero();
        }
    }

    @Test
    void f16KeepsNormsInF32AndMatricesWithinHalfPrecision() throws Exception {
        Exported e = export(4, GgufWriter.TensorType.F16);
        try (AnchorWeights w = e.weights) {
            Gguf g = e.gguf;
            assertThat(g.tensors.get("blk.0.attn_norm.weight").type).isZero();
            assertThat(g.tensors.get("output_norm.weight").type).isZero();
            assertThat(g.tensors.get("blk.0.ffn_up.weight").type).isEqualTo(1);
            float[] want = w.unfused().get("model.layers.0.mlp.up_proj.weight").toFloatArray();
            float[] got = g.floats("blk.0.ffn_up.weight");
            for (int i = 0; i < want.length; i++) assertThat(got[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-3f * Math.abs(want[i]) + 1e-7f));
            assertThat(g.kv.get("general.file_type")).isEqualTo(1L);
        }
    }

    /**
     * The property the q/k reordering exists for: rotating a vector the Hugging Face way (i with
     * i + hd/2) and then reordering equals reordering and then rotating llama.cpp's way (2i with
     * 2i + 1), at any position and frequency base — so attention scores are unchanged.
     */
    @Test
    void theReorderingTurnsRotateHalfRopeIntoAdjacentPairRope() {
        Random r = new Random(11);
        for (int trial = 0; trial < 200; trial++) {
            int half = 1 + r.nextInt(32), hd = 2 * half;
            float[] x = new float[hd];
            for (int i = 0; i < hd; i++) x[i] = (float) r.nextGaussian();
            int pos = r.nextInt(4096);
            double base = 1000 + r.nextInt(500000);
            float[] hfThenReorder = GgufExport.interleaveRope(rotateHalf(x, pos, base), 1, hd, 1);
            float[] reorderThenAdjacent = adjacent(GgufExport.interleaveRope(x, 1, hd, 1), pos, base);
            for (int i = 0; i < hd; i++) assertThat(hfThenReorder[i]).isCloseTo(reorderThenAdjacent[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void aTokenizerThatDoesNotFitTheModelIsRefusedByName() throws Exception {
        Path model = TestModels.tinyModel(dir.resolve("model"), 5);
        ModelConfig c = ModelConfig.load(model);
        String json = Files.readString(model.resolve("tokenizer.json"));
        assertThat(json).containsPattern("\"id\": ?319");
        Files.writeString(model.resolve("tokenizer.json"), json.replaceFirst("\"id\": ?319", "\"id\": 9999"));
        assertThatThrownBy(() -> GgufExport.Vocabulary.of(model, c)).isInstanceOf(IOException.class).hasMessageContaining("9999");
        Files.delete(model.resolve("tokenizer.json"));
        assertThatThrownBy(() -> GgufExport.Vocabulary.of(model, c)).hasMessageContaining("tokenizer.json");
    }

    private static float[] rotateHalf(float[] x, int pos, double base) {
        int hd = x.length, half = hd / 2;
        float[] o = new float[hd];
        for (int i = 0; i < half; i++) {
            double a = pos / Math.pow(base, 2.0 * i / hd);
            o[i] = (float) (x[i] * Math.cos(a) - x[i + half] * Math.sin(a));
            o[i + half] = (float) (x[i + half] * Math.cos(a) + x[i] * Math.sin(a));
        }
        return o;
    }

    private static float[] adjacent(float[] x, int pos, double base) {
        int hd = x.length;
        float[] o = new float[hd];
        for (int i = 0; i < hd / 2; i++) {
            double a = pos / Math.pow(base, 2.0 * i / hd);
            o[2 * i] = (float) (x[2 * i] * Math.cos(a) - x[2 * i + 1] * Math.sin(a));
            o[2 * i + 1] = (float) (x[2 * i + 1] * Math.cos(a) + x[2 * i] * Math.sin(a));
        }
        return o;
    }

    /** A GGUF v3 reader after ggml's docs/gguf.md: enough to check what the writer claims. */
    static final class Gguf {
        record Info(long[] dims, int type, long offset) {}

        int version;
        final Map<String, Object> kv = new HashMap<>();
        final Map<String, Info> tensors = new LinkedHashMap<>();
        ByteBuffer b;
        long dataStart;

        static Gguf read(Path file) throws IOException {
            Gguf g = new Gguf();
            g.b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(new String(new byte[] {g.b.get(), g.b.get(), g.b.get(), g.b.get()}, StandardCharsets.US_ASCII)).isEqualTo("GGUF");
            g.version = g.b.getInt();
            long nTensors = g.b.getLong(), nKv = g.b.getLong();
            for (long i = 0; i < nKv; i++) {
                String key = g.string();
                g.kv.put(key, g.value(g.b.getInt()));
            }
            for (long i = 0; i < nTensors; i++) {
                String name = g.string();
                int nd = g.b.getInt();
                long[] dims = new long[nd];
                for (int d = 0; d < nd; d++) dims[d] = g.b.getLong();
                g.tensors.put(name, new Info(dims, g.b.getInt(), g.b.getLong()));
            }
            long align = (long) g.kv.getOrDefault("general.alignment", 32L);
            g.dataStart = (g.b.position() + align - 1) / align * align;
            return g;
        }

        float[] floats(String name) {
            Info t = tensors.get(name);
            long n = 1;
            for (long d : t.dims) n *= d;
            float[] out = new float[(int) n];
            ByteBuffer at = b.duplicate().order(ByteOrder.LITTLE_ENDIAN).position((int) (dataStart + t.offset));
            for (int i = 0; i < n; i++) out[i] = t.type == 0 ? at.getFloat() : half(at.getShort());
            return out;
        }

        private static float half(short h) {
            int s = (h >> 15) & 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
            double v = e == 0 ? m / 1024.0 * Math.pow(2, -14) : (1 + m / 1024.0) * Math.pow(2, e - 15);
            return (float) (s == 1 ? -v : v);
        }

        private String string() {
            byte[] s = new byte[(int) b.getLong()];
            b.get(s);
            return new String(s, StandardCharsets.UTF_8);
        }

        private Object value(int type) {
            switch (type) {
                case 4: return Integer.toUnsignedLong(b.getInt());
                case 5: return (long) b.getInt();
                case 6: return b.getFloat();
                case 7: return b.get() != 0;
                case 8: return string();
                case 9: {
                    int et = b.getInt();
                    long n = b.getLong();
                    List<Object> l = new ArrayList<>();
                    for (long i = 0; i < n; i++) l.add(value(et));
                    return l;
                }
                default: throw new AssertionError("unexpected metadata type " + type);
            }
        }
    }
}
