package dev.hmem.training.train;

import dev.hmem.runtime.bank.MemoryPath;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Packs training sequences: documents concatenated until the sequence is full, either drawn from
 * the whole corpus (anchor pretraining) or all from one leaf cluster (memory training, PAPER.md:
 * "each sequence is packed from one leaf"). Leaves are chosen in proportion to their tokens, so
 * every document is seen equally often, but not independently: a golden-ratio (Weyl) sequence over
 * (step, group) spreads consecutive groups evenly over the leaves, so every leaf block is updated
 * at a steady rate instead of at random gaps. Deterministic: the sequence of (step, row) depends
 * only on the seed, which is what makes training resumable bit for bit.
 */
final class SequenceSampler {

    /** One packed sequence: T+1 tokens, its leaf, and the facts whose sentences it holds whole. */
    record Sample(long[] tokens, MemoryPath leaf, int[] facts) {}

    private final int[][] docTokens;
    private final int[][] docFacts;
    private final List<MemoryPath> leaves = new ArrayList<>();
    private final List<int[]> leafDocs = new ArrayList<>();
    private final double[] leafCumulative;
    private final long seed;

    SequenceSampler(int[][] docTokens, int[][] docFacts, MemoryPath[] docLeaf, long seed) {
        this.docTokens = docTokens;
        this.docFacts = docFacts;
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

    /** The leaf trained by group {@code group} of {@code groups} at memory step {@code step}. */
    MemoryPath leafOf(long step, int group, int groups) {
        return leaves.get(leafIndex(step, group, groups));
    }

    private int leafIndex(long step, int group, int groups) {
        long x = mix(seed, -7, -7) + (step * groups + group) * 0x9E3779B97F4A7C15L;
        double u = (x >>> 11) * 0x1.0p-53 * leafCumulative[leafCumulative.length - 1];
        int leaf = java.util.Arrays.binarySearch(leafCumulative, u);
        return Math.min(leaves.size() - 1, leaf >= 0 ? leaf + 1 : -leaf - 1);
    }

    /**
     * The row-th sequence of a step. With {@code groups} > 0, rows of the same {@code group} share
     * a leaf ({@link #leafOf}); with 0 they are drawn from the whole corpus.
     */
    Sample next(long step, int row, int group, int groups, int seqLen) {
        SplittableRandom rnd = new SplittableRandom(mix(seed, step, row));
        int leaf = groups > 0 ? leafIndex(step, group, groups) : -1;
        int[] pool = leaf >= 0 ? leafDocs.get(leaf) : null;
        long[] out = new long[seqLen + 1];
        List<Integer> facts = new ArrayList<>();
        int n = 0;
        while (n < out.length) {
            int d = pool != null ? pool[rnd.nextInt(pool.length)] : rnd.nextInt(docTokens.length);
            int[] t = docTokens[d];
            int take = Math.min(t.length, out.length - n);
            for (int j = 0; j < take; j++) out[n + j] = t[j];
            if (take == t.length) for (int f : docFacts[d]) facts.add(f);
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
