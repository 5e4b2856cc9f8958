package dev.hmem.cli.loadgen;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A synthetic serving workload as the LoRA-serving literature measures with (SERVING.md):
 * arrival gaps exponential (Poisson process) or gamma with a given coefficient of variation
 * (bursty), and the cluster of each request drawn from a Zipf distribution over clusters, a prompt
 * then drawn uniformly within the cluster.
 */
public final class Workload {

    private final List<List<String>> clusters;
    private final double[] cumulative;
    private final double rate;
    private final double cv;
    private final Random rnd;

    /**
     * @param promptsByCluster prompts grouped by the cluster they route to (popularity order is shuffled by the seed)
     * @param zipf             exponent s (0 = uniform over clusters)
     * @param rate             mean requests per second
     * @param cv               coefficient of variation of the gaps (1 = Poisson)
     */
    public Workload(Map<String, List<String>> promptsByCluster, double zipf, double rate, double cv, long seed) {
        if (promptsByCluster.isEmpty()) throw new IllegalArgumentException("no prompts");
        if (rate <= 0) throw new IllegalArgumentException("rate must be positive");
        if (cv <= 0) throw new IllegalArgumentException("coefficient of variation must be positive");
        this.rnd = new Random(seed);
        List<String> keys = new ArrayList<>(promptsByCluster.keySet());
        keys.sort(null);
        java.util.Collections.shuffle(keys, rnd);
        clusters = new ArrayList<>();
        for (String k : keys) clusters.add(promptsByCluster.get(k));
        cumulative = new double[clusters.size()];
        double total = 0;
        for (int r = 0; r < clusters.size(); r++) {
            total += 1.0 / Math.pow(r + 1, zipf);
            cumulative[r] = total;
        }
        this.rate = rate;
        this.cv = cv;
    }

    public int clusterCount() {
        return clusters.size();
    }

    /** The next request's prompt. */
    public String nextPrompt() {
        double u = rnd.nextDouble() * cumulative[cumulative.length - 1];
        int i = java.util.Arrays.binarySearch(cumulative, u);
        List<String> c = clusters.get(i >= 0 ? i : -i - 1);
        return c.get(rnd.nextInt(c.size()));
    }

    /** Seconds until the next arrival. */
    public double nextGap() {
        double mean = 1.0 / rate;
        if (Math.abs(cv - 1) < 1e-9) return -Math.log(1 - rnd.nextDouble()) * mean;
        double shape = 1 / (cv * cv);
        return gamma(shape) * mean / shape;
    }

    /** Marsaglia–Tsang gamma(shape, 1). */
    private double gamma(double shape) {
        if (shape < 1) return gamma(shape + 1) * Math.pow(rnd.nextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = rnd.nextGaussian(), v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            double u = rnd.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
        }
    }
}
