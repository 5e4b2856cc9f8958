package dev.hmem.model.train;

import dev.hmem.model.memory.MemoryPath;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Packs training sequences: documents concatenated until the sequence is full, either drawn from
 * the whole corpus (anchor pretraining) or all from one leaf cluster (memory training, PAPER.md:
 * "each sequence is packed from one leaf"), the leaf drawn in proportion to its tokens so every
 * document is seen equally often. Deterministic: the sequence of (step, row) depends only on the
 * seed, which is what makes training resumable bit for bit.
 */
final class SequenceSampler {

    /** One packed sequence: T+1 tokens, its leaf, and the facts whose sentences it holds whole. */
    record Sample(long[] tokens, MemoryPath leaf, int[] facts) {}

    private final int[][] docTokens;
    private final int[] docFact;
    private final List<MemoryPath> leaves = new ArrayList<>();
    private final List<int[]> leafDocs = new ArrayList<>();
    private final double[] leafCumulative;
    private final long seed;

    SequenceSampler(int[][] docTokens, int[] docFact, MemoryPath[] docLeaf, long seed) {
        this.docTokens = docTokens;
        this.docFact = docFact;
        this.seed = seed;
        Map<MemoryPath, List<Integer>> byLeaf = new HashMap<>();
        for (int i = 0; i < docLeaf.length; i++) byLeaf.computeIfAbsent(docLeaf[i], k -> new ArrayList<>()).add(i);
        List<MemoryPath> sorted = new ArrayList<>(byLeaf.keySet());
        sorted.sort(java.util.Comparator.comparing(MemoryPath::toString));
        leafCumulative = new double[sorted.size()];
        double total = 0;
        for (int i = 0; i < sorted.size(); i++) {
            int[] docs = byLeaf.get(sorted.get(i)).stream().mapToInt(Integer::intValue).toArray();
            leaves.add(sorted.get(i));
            leafDocs.add(docs);
            for (int d : docs) total += docTokens[d].length;
            leafCumulative[i] = total;
        }
    }

    int leafCount() {
        return leaves.size();
    }

    /**
     * The row-th sequence of a step. With {@code byLeaf}, rows of the same {@code group} share a
     * leaf: a batch of a few leaves × several sequences each runs a few memory branches instead
     * of one per row.
     */
    Sample next(long step, int row, int group, int seqLen, boolean byLeaf) {
        SplittableRandom rnd = new SplittableRandom(mix(seed, step, row));
        int leaf = -1;
        int[] pool = null;
        if (byLeaf) {
            SplittableRandom leafRnd = new SplittableRandom(mix(seed, step, -1 - group));
            double u = leafRnd.nextDouble() * leafCumulative[leafCumulative.length - 1];
            leaf = java.util.Arrays.binarySearch(leafCumulative, u);
            leaf = leaf >= 0 ? leaf : -leaf - 1;
            pool = leafDocs.get(leaf);
        }
        long[] out = new long[seqLen + 1];
        List<Integer> facts = new ArrayList<>();
        int n = 0;
        while (n < out.length) {
            int d = pool != null ? pool[rnd.nextInt(pool.length)] : rnd.nextInt(docTokens.length);
            int[] t = docTokens[d];
            int take = Math.min(t.length, out.length - n);
            for (int j = 0; j < take; j++) out[n + j] = t[j];
            if (take == t.length && docFact[d] >= 0) facts.add(docFact[d]);
            n += take;
        }
        return new Sample(out, leaf >= 0 ? leaves.get(leaf) : null, facts.stream().mapToInt(Integer::intValue).toArray());
    }

    static long mix(long seed, long step, int row) {
        long z = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + row * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
