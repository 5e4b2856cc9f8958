package dev.hmem.training.train;

import ai.djl.ndarray.NDArray;
import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.io.SafeTensorsFile;
import dev.hmem.runtime.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a training run needs to continue: parameters, AdamW moments and step counts, the
 * position in the schedule, fact exposures and the loss curve. Written to a temporary name and
 * swapped in, so an interrupted save leaves the previous checkpoint intact.
 */
final class TrainCheckpoint {

    record State(int stage, long step, int[] exposures, List<double[]> losses) {}

    private record Meta(String config, long seed, int stage, long step, Map<String, Long> slotSteps, int[] exposures,
                        List<double[]> losses) {}

    private static final Gson GSON = new Gson();

    private TrainCheckpoint() {}

    static void save(Path dir, TrainConfig cfg, int stage, long step, List<NDArray> anchor, TrainableBank bank,
                     AdamW opt, int[] exposures, List<double[]> losses) throws IOException {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (int i = 0; i < anchor.size(); i++) tensors.put("anchor." + i, anchor.get(i));
        if (bank != null) bank.params.forEach((id, a) -> tensors.put("block." + id, a));
        Map<String, Long> steps = new LinkedHashMap<>();
        opt.slots.forEach((name, s) -> {
            tensors.put("m." + name, s.m);
            tensors.put("v." + name, s.v);
            steps.put(name, s.t);
        });
        Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp");
        Trainer.deleteRecursively(tmp);
        Files.createDirectories(tmp);
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        tensors.forEach((n, a) -> entries.add(new SafeTensorsWriter.Entry(n, DType.F32, a.getShape().getShape())));
        try (SafeTensorsWriter w = SafeTensorsWriter.create(tmp.resolve("state.safetensors"), Map.of(), entries)) {
            for (NDArray a : tensors.values()) w.writeFloats(a.toFloatArray(), DType.F32);
        }
        Files.writeString(tmp.resolve("state.json"),
                GSON.toJson(new Meta(cfg.name(), cfg.seed(), stage, step, steps, exposures, losses)));
        Trainer.deleteRecursively(dir);
        Files.move(tmp, dir);
    }

    /** Restores into the given parameters; null when there is no checkpoint of this configuration. */
    static State load(Path dir, TrainConfig cfg, List<NDArray> anchor, TrainableBank bank, AdamW opt) throws IOException {
        Path meta = dir.resolve("state.json");
        if (!Files.exists(meta)) return null;
        Meta m = GSON.fromJson(Files.readString(meta), new TypeToken<Meta>() {}.getType());
        if (!m.config().equals(cfg.name()) || m.seed() != cfg.seed()) {
            throw new IllegalStateException(dir + " holds a checkpoint of '" + m.config() + "' seed " + m.seed()
                    + ", not of '" + cfg.name() + "' seed " + cfg.seed() + ": use another output directory");
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("state.safetensors"))) {
            for (int i = 0; i < anchor.size(); i++) anchor.get(i).set(f.readFloats(f.info("anchor." + i)));
            if (bank != null) {
                for (Map.Entry<BlockId, NDArray> e : bank.params.entrySet()) {
                    e.getValue().set(f.readFloats(f.info("block." + e.getKey())));
                }
            }
            for (Map.Entry<String, Long> e : m.slotSteps().entrySet()) {
                String name = e.getKey();
                NDArray like = name.startsWith("anchor.") ? anchor.get(Integer.parseInt(name.substring(7)))
                        : bank.params.get(new BlockId(dev.hmem.runtime.bank.MemoryPath.parse(
                                name.substring(6).equals("generic") ? "" : name.substring(6))));
                AdamW.Slot s = opt.slot(name, like);
                s.m.set(f.readFloats(f.info("m." + name)));
                s.v.set(f.readFloats(f.info("v." + name)));
                s.t = e.getValue();
            }
        }
        return new State(m.stage(), m.step(), m.exposures(), m.losses());
    }
}
