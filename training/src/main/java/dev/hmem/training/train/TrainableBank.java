package dev.hmem.training.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.Progress;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BankWriter;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.io.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Every memory block of the bank as a trainable array (L, 3, r, d), in the layout of the bank file.
 * Initialised as PAPER.md says — gate and up rows truncated normal, down rows zero — so a fresh
 * memory leaves the anchor's output unchanged.
 */
final class TrainableBank implements AutoCloseable {

    /** A block seen by one forward pass: views cut from the parameter, on first use, inside gradient recording. */
    static final class View implements FfnMemory {
        final BlockId id;
        private final NDArray param;
        private final NDArray[] gateUp, downT;
        private final int neurons;

        View(BlockId id, NDArray param) {
            this.id = id;
            this.param = param;
            int layers = (int) param.getShape().get(0);
            neurons = (int) param.getShape().get(2);
            gateUp = new NDArray[layers];
            downT = new NDArray[layers];
        }

        @Override public int neurons() { return neurons; }
        @Override public NDArray data() { return param; }

        @Override
        public NDArray gateUp(int layer) {
            if (gateUp[layer] == null) gateUp[layer] = param.get("{}, 0:2", layer).reshape(2L * neurons, param.getShape().get(3));
            return gateUp[layer];
        }

        @Override
        public NDArray downT(int layer) {
            if (downT[layer] == null) downT[layer] = param.get("{}, 2", layer);
            return downT[layer];
        }
    }

    final ClusterTree tree;
    final int[] neurons;
    final int generic;
    final int layers;
    final int hidden;
    final Map<BlockId, NDArray> params = new LinkedHashMap<>();
    private final NDManager manager;

    TrainableBank(ClusterTree tree, int[] neurons, int generic, int layers, int hidden, long seed, NDManager parent) {
        this.tree = tree;
        this.neurons = neurons;
        this.generic = generic;
        this.layers = layers;
        this.hidden = hidden;
        this.manager = parent.newSubManager();
        Random rnd = new Random(seed);
        if (generic > 0) params.put(BlockId.GENERIC, init(generic, rnd));
        for (int level = 1; level <= tree.depth(); level++) {
            if (neurons[level - 1] == 0) continue;
            long nodes = ClusterTree.nodes(tree.branching(), level);
            for (long i = 0; i < nodes; i++) {
                params.put(new BlockId(MemoryPath.fromNodeIndex(i, level, tree.branching())), init(neurons[level - 1], rnd));
            }
        }
    }

    private NDArray init(int r, Random rnd) {
        float[] v = new float[layers * 3 * r * hidden];
        int per = r * hidden;
        for (int l = 0; l < layers; l++) {
            int base = l * 3 * per;
            for (int i = base; i < base + 2 * per; i++) {
                double g;
                do {
                    g = rnd.nextGaussian();
                } while (Math.abs(g) > 2);  // truncated at two standard deviations
                v[i] = (float) (g * 0.02);
            }
        }
        NDArray a = manager.create(v, new Shape(layers, 3, r, hidden));
        a.setRequiresGradient(true);
        return a;
    }

    /** Block ids of a leaf's memory (levels with neurons), top-down. */
    List<BlockId> pathBlocks(MemoryPath leaf) {
        List<BlockId> ids = new ArrayList<>();
        for (int level = 1; level <= leaf.depth(); level++) {
            if (neurons[level - 1] > 0) ids.add(new BlockId(leaf.prefix(level)));
        }
        return ids;
    }

    /** Writes the bank files for an anchor with {@code fingerprint}. */
    BankManifest write(Path dir, String fingerprint, String description) throws IOException {
        BankWriter w = new BankWriter(dir, new BankManifest.Anchor(fingerprint, hidden, layers), tree, description);
        for (int level = 1; level <= tree.depth(); level++) {
            if (neurons[level - 1] == 0) continue;
            final int lv = level;
            long nodes = ClusterTree.nodes(tree.branching(), level);
            w.writeLevel(level, neurons[level - 1], DType.F32,
                    i -> params.get(new BlockId(MemoryPath.fromNodeIndex(i, lv, tree.branching()))).toFloatArray(),
                    Progress.silent(nodes));
        }
        if (generic > 0) w.writeGeneric(generic, DType.F32, params.get(BlockId.GENERIC).toFloatArray());
        return w.finish();
    }

    /** Loads trained blocks back from a bank (post-hoc training starts from one, resume too). */
    void loadFrom(MemoryBank bank) throws IOException {
        try (NDManager tmp = NDManager.newBaseManager()) {
            for (Map.Entry<BlockId, NDArray> e : params.entrySet()) {
                NDArray loaded = bank.load(e.getKey(), tmp).data();
                e.getValue().set(loaded.toFloatArray());
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
