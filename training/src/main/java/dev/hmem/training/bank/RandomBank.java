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
        if (!hasCompletionRecords(dir)) {  // nothing to resume: check before building the tree (large for deep banks)
            long all = bytes(anchor, 1, genericNeurons, dtype);
            for (int level = 1; level <= depth; level++) all += bytes(anchor, ClusterTree.nodes(branching, level), neurons[level - 1], dtype);
            checkSpace(dir, all);
        }
        ClusterTree tree = ClusterTree.random(branching, depth, 384, seed);
        BankWriter w = new BankWriter(dir, anchor, tree, "random bank (seed " + seed + ")");
        boolean[] resumed = new boolean[depth + 1];
        long needed = bytes(anchor, 1, genericNeurons, dtype);
        for (int level = 1; level <= depth; level++) {
            if (neurons[level - 1] == 0) continue;
            resumed[level] = w.resumeLevel(level, neurons[level - 1], dtype);
            if (!resumed[level]) {
                needed += bytes(anchor, ClusterTree.nodes(branching, level), neurons[level - 1], dtype);
            }
        }
        checkSpace(dir, needed);
        for (int level = 1; level <= depth; level++) {
            int r = neurons[level - 1];
            if (r == 0) continue;
            if (resumed[level]) {
                System.err.printf(java.util.Locale.ROOT, "[bank level %d] already written by an earlier run: kept%n", level);
                continue;
            }
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

    /** Bytes of {@code blocks} blocks of {@code r} neurons (gate, up and down rows in every layer). */
    private static long bytes(BankManifest.Anchor a, long blocks, int r, DType dtype) {
        return blocks * 3L * r * a.hiddenSize() * a.numHiddenLayers() * dtype.bytes();
    }

    private static boolean hasCompletionRecords(Path dir) throws IOException {
        if (!java.nio.file.Files.isDirectory(dir)) return false;
        try (var s = java.nio.file.Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".done.json"));
        }
    }

    /** Refuses to start a bank the disk cannot hold (plus 1 GiB to spare), naming both sizes, instead of failing hours in. */
    static void checkSpace(Path dir, long bytes) throws IOException {
        Path p = dir.toAbsolutePath();
        while (p != null && !java.nio.file.Files.exists(p)) p = p.getParent();
        if (p == null) return;
        long free = java.nio.file.Files.getFileStore(p).getUsableSpace();
        if (free < bytes + (1L << 30)) {
            throw new IOException(String.format(java.util.Locale.ROOT, "the bank needs %.2f GB on %s but only %.2f GB are free "
                    + "(1 GiB is kept spare): free some space or choose another --out", bytes / 1e9, p, free / 1e9));
        }
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
