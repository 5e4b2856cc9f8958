package dev.hmem.cli.sizing;

import java.util.SplittableRandom;

/**
 * How often each leaf of a tree is routed to: Zipf with exponent {@code s} over the leaves, the ranks dealt to
 * leaves in a seeded random order (a popular topic may sit under any level-1 cluster, as in a real bank), or
 * uniform when {@code s} is 0. Gives each node's probability at every level (the sum over its leaves) and draws
 * leaves from the law, so the prediction and the measurement use the same popularity.
 */
public final class LeafPopularity {

    private final BankShape shape;
    private final double[] leaf;         // probability per leaf, in tree order
    private final double[] cumulative;   // for drawing
    private final double exponent;

    private LeafPopularity(BankShape shape, double[] leaf, double exponent) {
        this.shape = shape;
        this.leaf = leaf;
        this.exponent = exponent;
        cumulative = new double[leaf.length];
        double c = 0;
        for (int i = 0; i < leaf.length; i++) cumulative[i] = c += leaf[i];
    }

    public static LeafPopularity zipf(BankShape shape, double s, long seed) {
        if (!(s >= 0) || s > 10) throw new IllegalArgumentException("Zipf exponent must be in [0, 10], got " + s);
        int n = shape.leaves();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {  // Fisher-Yates: the leaf holding each rank
            int j = rnd.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double[] p = new double[n];
        double z = 0;
        for (int rank = 1; rank <= n; rank++) z += Math.pow(rank, -s);
        for (int rank = 1; rank <= n; rank++) p[order[rank - 1]] = Math.pow(rank, -s) / z;
        return new LeafPopularity(shape, p, s);
    }

    public BankShape shape() {
        return shape;
    }

    public double exponent() {
        return exponent;
    }

    /** Probability that a prompt uses each node of {@code level} (1-based; index = node index in tree order). */
    public double[] nodes(int level) {
        int n = shape.nodes(level), per = shape.leaves() / n;
        double[] p = new double[n];
        for (int i = 0; i < leaf.length; i++) p[i / per] += leaf[i];
        return p;
    }

    /** A leaf index drawn from the law. */
    public int draw(SplittableRandom rnd) {
        double u = rnd.nextDouble() * cumulative[cumulative.length - 1];
        int lo = 0, hi = cumulative.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }
}
