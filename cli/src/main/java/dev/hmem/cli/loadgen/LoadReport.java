package dev.hmem.cli.loadgen;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** What a load run measured, after discarding the warm-up. */
public record LoadReport(int sent, int answered, int errors, double seconds, long outputTokens, double[] endToEndMs,
                         double[] firstTokenMs, double[] perTokenMs, long cacheHits, long cacheMisses, double sloMs) {

    public double requestsPerSecond() {
        return answered / seconds;
    }

    public double tokensPerSecond() {
        return outputTokens / seconds;
    }

    public double hitRate() {
        long all = cacheHits + cacheMisses;
        return all == 0 ? Double.NaN : (double) cacheHits / all;
    }

    /** Requests per second answered within the latency target. */
    public double goodput() {
        long ok = Arrays.stream(endToEndMs).filter(v -> v <= sloMs).count();
        return ok / seconds;
    }

    public static double percentile(double[] v, double p) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, i))];
    }

    static double mean(double[] v) {
        return v.length == 0 ? Double.NaN : Arrays.stream(v).average().orElse(Double.NaN);
    }

    public String format() {
        return String.join("\n", List.of(
                String.format(Locale.ROOT, "requests   sent %d, answered %d, errors %d in %.1f s (after warm-up)", sent, answered, errors, seconds),
                String.format(Locale.ROOT, "throughput %.2f requests/s, %.1f output tokens/s, goodput %.2f requests/s within %.0f ms",
                        requestsPerSecond(), tokensPerSecond(), goodput(), sloMs),
                String.format(Locale.ROOT, "latency    end-to-end mean %.0f, p50 %.0f, p90 %.0f, p99 %.0f ms", mean(endToEndMs),
                        percentile(endToEndMs, 50), percentile(endToEndMs, 90), percentile(endToEndMs, 99)),
                String.format(Locale.ROOT, "           time to first token p50 %.0f, p99 %.0f ms; time per output token p50 %.1f ms",
                        percentile(firstTokenMs, 50), percentile(firstTokenMs, 99), percentile(perTokenMs, 50)),
                String.format(Locale.ROOT, "cache      hit rate %.1f%% (%d hits, %d misses)", 100 * hitRate(), cacheHits, cacheMisses)));
    }
}
