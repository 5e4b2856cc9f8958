package dev.hmem.training.bank;

import dev.hmem.runtime.Progress;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BankWriter;
import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.io.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Banks of any shape with random blocks and a random tree, for tests and benchmarks. Gate and up
 * rows are normal(0, 0.02) like the paper's initialisation; the down projection is normal too
 * (so the memory visibly changes outputs) unless {@code zeroDown}, the paper's initialisation
 * under which a fresh memory leaves the anchor unchanged.
 */
public final class RandomBank {

    private RandomBank() {}

    /**
     * @param neurons r_l per level 1..depth; 0 leaves a level without blocks
     * @param genericNeurons 0 for no generic memory
     */
    public static BankManifest create(Path dir, BankManifest.Anchor anchor, int branching, int depth, int[] neurons,
                                      int genericNeurons, DType dtype, boolean zeroDown, long seed) throws IOException {
        if (neurons.length != depth) {
            throw new IllegalArgumentException("need one neuron count per level (" + depth + "), got " + neurons.length);
        }
        ClusterTree tree = ClusterTree.random(branching, depth, 384, seed);
        BankWriter w = new BankWriter(dir, anchor, tree, "random bank (seed " + seed + ")");
        for (int level = 1; level <= depth; level++) {
            int r = neurons[level - 1];
            if (r == 0) continue;
            long nodes = ClusterTree.nodes(branching, level);
            final int lv = level;
            Progress p = Progress.of("bank level " + level, nodes, "blocks");
            w.writeLevel(level, r, dtype, node -> block(anchor, r, zeroDown, seed * 1_000_003L + lv * 7919L + node), p);
        }
        if (genericNeurons > 0) {
            w.writeGeneric(genericNeurons, dtype, block(anchor, genericNeurons, zeroDown, seed - 1));
        }
        return w.finish();
    }

    static float[] block(BankManifest.Anchor a, int r, boolean zeroDown, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int d = a.hiddenSize(), perMatrix = r * d;
        float[] v = new float[a.numHiddenLayers() * 3 * perMatrix];
        for (int l = 0; l < a.numHiddenLayers(); l++) {
            int base = l * 3 * perMatrix;
            int end = base + (zeroDown ? 2 : 3) * perMatrix;
            for (int i = base; i < end; i++) v[i] = (float) (gaussian(rnd) * 0.02);
        }
        return v;
    }

    /** Box-Muller from a SplittableRandom (it has no nextGaussian on Java 17). */
    static double gaussian(SplittableRandom rnd) {
        double u = rnd.nextDouble(), w = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w);
    }
}
