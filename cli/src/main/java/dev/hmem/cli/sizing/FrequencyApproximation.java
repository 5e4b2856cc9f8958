package dev.hmem.cli.sizing;

import java.util.Arrays;
import java.util.Comparator;

/**
 * A model of Caffeine's W-TinyLFU (hmem's block cache) under independent requests. Its admission filter lets an item
 * in only when it has been asked for more often than the item it would evict, so its ideal is the static set of the
 * most frequently requested items that fit (an ideal LFU). It falls short of that ideal because it counts
 * frequencies in a small sketch that is halved every ten times its size in requests: items near the boundary of the
 * set are told apart by a few noisy counts, and some lose their place to rarer ones. Measured against Caffeine 3.2.3 on
 * random workloads (1-4 kB items, Zipf 0.6-1.3, budgets 3-65% of the items' bytes; seed 99, not the test's), its hit
 * rate lies at a steady fraction {@link #TOWARDS_LFU} of the way from LRU's (Che's approximation) to the ideal's;
 * {@code CachePolicyTest} checks the blend on other seeds. This is a calibrated model, not a derivation: a newer
 * Caffeine may need the fraction measured again.
 */
final class FrequencyApproximation {

    /** Least-squares fit over 30 random workloads of Caffeine 3.2.3 (see the class comment); per-workload range 0.40-0.77. */
    static final double TOWARDS_LFU = 0.60;

    private FrequencyApproximation() {}

    static double[] hitProbabilities(double[] rate, long[] bytes, long budget) {
        double[] lru = CheApproximation.hitProbabilities(rate, bytes, budget);
        double[] lfu = idealLfu(rate, bytes, budget);
        double[] h = new double[rate.length];
        for (int i = 0; i < h.length; i++) h[i] = lru[i] + TOWARDS_LFU * (lfu[i] - lru[i]);
        return h;
    }

    /** The most frequently requested items that fit, in order of frequency: each is always a hit, the rest never. */
    static double[] idealLfu(double[] rate, long[] bytes, long budget) {
        CheApproximation.check(rate, bytes, budget);
        Integer[] order = new Integer[rate.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -rate[i]));
        double[] h = new double[rate.length];
        long used = 0;
        for (int i : order) {
            if (rate[i] <= 0 || used + bytes[i] > budget) break;  // a rarer item never displaces a more frequent one
            used += bytes[i];
            h[i] = 1;
        }
        return h;
    }
}
