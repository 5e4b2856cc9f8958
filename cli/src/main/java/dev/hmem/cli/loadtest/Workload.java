package dev.hmem.cli.loadtest;

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

    /** A request's prompt and the cluster it was drawn from. */
    public record Pick(String cluster, String prompt) {}

    private final List<String> names;
    private final List<List<String>> clusters;
    private final double[] cumulative;
    private final double rate;
    private final double cv;
    private final double zipf;
    private final Random rnd;
    /** The clusters are memory paths, sent as each request's {@code memory_path} (no routing by the prompt's text). */
    private final boolean forcePaths;

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
        names = keys;
        for (String k : keys) clusters.add(promptsByCluster.get(k));
        cumulative = new double[clusters.size()];
        double total = 0;
        for (int r = 0; r < clusters.size(); r++) {
            total += 1.0 / Math.pow(r + 1, zipf);
            cumulative[r] = total;
        }
        this.rate = rate;
        this.cv = cv;
        this.zipf = zipf;
        this.forcePaths = false;
    }

    /**
     * Requests on memory paths drawn with the given weights (a popularity law over a bank's leaves, say), each sent with
     * its path as {@code memory_path} and a prompt drawn uniformly from {@code prompts}: a workload over every leaf of a
     * bank whose tree no prompt set covers (a random one), under exactly the law a prediction uses.
     */
    public Workload(List<String> paths, double[] weights, List<String> prompts, double rate, double cv, long seed) {
        if (paths.isEmpty() || paths.size() != weights.length) throw new IllegalArgumentException("need one weight per path");
        if (prompts.isEmpty()) throw new IllegalArgumentException("no prompts");
        if (rate <= 0) throw new IllegalArgumentException("rate must be positive");
        if (cv <= 0) throw new IllegalArgumentException("coefficient of variation must be positive");
        this.rnd = new Random(seed);
        this.names = List.copyOf(paths);
        this.clusters = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) clusters.add(prompts);
        this.cumulative = new double[weights.length];
        double total = 0;
        for (int i = 0; i < weights.length; i++) {
            if (!(weights[i] >= 0)) throw new IllegalArgumentException("weights must be >= 0, got " + weights[i] + " for " + paths.get(i));
            cumulative[i] = total += weights[i];
        }
        if (!(total > 0)) throw new IllegalArgumentException("weights sum to " + total);
        this.rate = rate;
        this.cv = cv;
        this.zipf = Double.NaN;
        this.forcePaths = true;
    }

    private java.util.function.Consumer<Pick> observer = p -> {};

    /** Tells {@code o} of every request drawn (on the drawing thread), e.g. to count first uses of each path. */
    public synchronized Workload observe(java.util.function.Consumer<Pick> o) {
        this.observer = o;
        return this;
    }

    /** Whether requests carry their cluster as a forced {@code memory_path}. */
    public boolean forcesPaths() {
        return forcePaths;
    }

    /** How the workload draws requests, for reports. */
    public String describe() {
        if (forcePaths) {
            return String.format(java.util.Locale.ROOT, "%d prompts on %d forced memory paths drawn by weight, %s arrivals", clusters.get(0).size(),
                    names.size(), Math.abs(cv - 1) < 1e-9 ? "Poisson" : String.format(java.util.Locale.ROOT, "gamma (CV %.1f)", cv));
        }
        int prompts = clusters.stream().mapToInt(List::size).sum();
        return String.format(java.util.Locale.ROOT, "%d prompts in %d clusters, Zipf s=%.2f over clusters, %s arrivals", prompts,
                clusters.size(), zipf, Math.abs(cv - 1) < 1e-9 ? "Poisson" : String.format(java.util.Locale.ROOT, "gamma (CV %.1f)", cv));
    }

    public int clusterCount() {
        return clusters.size();
    }

    /** The next request's prompt. */
    public String nextPrompt() {
        return next().prompt();
    }

    /** The next request: a cluster by popularity, then a prompt of it uniformly. */
    public synchronized Pick next() {
        double u = rnd.nextDouble() * cumulative[cumulative.length - 1];
        int i = java.util.Arrays.binarySearch(cumulative, u);
        int k = i >= 0 ? i : -i - 1;
        List<String> c = clusters.get(k);
        Pick p = new Pick(names.get(k), c.get(rnd.nextInt(c.size())));
        observer.accept(p);
        return p;
    }

    /** Seconds until the next arrival at the workload's own rate. */
    public double nextGap() {
        return nextGap(rate);
    }

    /** Seconds until the next arrival at {@code rate} requests per second (mean), with the workload's burstiness. */
    public synchronized double nextGap(double rate) {
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
