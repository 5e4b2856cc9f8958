package dev.hmem.cli.loadtest;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.HdrHistogram.DoubleHistogram;

/**
 * The figures of one step, as a capacity planner reads them: offered and achieved request rate,
 * output tokens per second, goodput under the SLO, latency percentiles (recorded in HdrHistogram,
 * three significant digits), cache hit rate (overall from the results, per level from the job's
 * metrics when available), errors, and the delay exactly-once delivery adds, on its own; with a
 * probe of the job, where its generate subtasks' time went ({@link EngineTime}, null without), and
 * with local processes, their CPU by thread group (empty without).
 */
public record StepStats(String label, double offeredRate, int concurrency, double sentRate, double achievedRate,
                 double outputTokensPerSecond, double goodput, int measured, int answered, int errors, int unanswered,
                 Map<String, Percentiles> latency, double hitRate, Map<String, Double> hitRateByLevel,
                 Map<String, Double> checkpoints, EngineTime engine, Map<String, Map<String, Double>> cpu) {

    /** Mean and percentiles of one latency, milliseconds. */
    public record Percentiles(long count, double mean, double p50, double p90, double p99, double max) {}

    static final List<String> LATENCIES = List.of("ttft", "tpot", "e2e", "produced", "queue", "commit_delay", "stream_ttft",
            "stream_itl", "committed_ttft", "committed_itl");

    static StepStats of(StepRunner.Result r, Slo slo, Map<String, Double> hitRateByLevel, Map<String, Double> checkpoints,
                        EngineTime engine, Map<String, Map<String, Double>> cpu) {
        List<RequestOutcome> ok = r.requests().stream().filter(RequestOutcome::ok).toList();
        Map<String, Percentiles> lat = new LinkedHashMap<>();
        lat.put("ttft", percentiles(ok, RequestOutcome::ttftMs));
        lat.put("tpot", percentiles(ok, RequestOutcome::tpotMs));
        lat.put("e2e", percentiles(ok, RequestOutcome::e2eMs));
        lat.put("produced", percentiles(ok, RequestOutcome::producedMs));
        lat.put("queue", percentiles(ok, RequestOutcome::queueMs));
        lat.put("commit_delay", percentiles(ok, RequestOutcome::commitDelayMs));
        // Streaming (empty without --token-topic): as a read_uncommitted and a read_committed client see the chunks.
        lat.put("stream_ttft", percentiles(ok, RequestOutcome::streamTtftMs));
        lat.put("stream_itl", percentiles(ok, RequestOutcome::streamItlMs));
        lat.put("committed_ttft", percentiles(ok, RequestOutcome::committedTtftMs));
        lat.put("committed_itl", percentiles(ok, RequestOutcome::committedItlMs));
        long hits = 0, misses = 0;
        for (RequestOutcome o : ok) {
            hits += o.cacheHits();
            misses += o.cacheMisses();
        }
        int answered = (int) r.requests().stream().filter(RequestOutcome::answered).count();
        long good = r.requests().stream().filter(slo::met).count();
        double window = r.windowSeconds();
        return new StepStats(r.step().label(), r.step().rate(), r.step().concurrency(), r.sent() / r.step().seconds(),
                r.arrivedInWindow() / window, r.tokensInWindow() / window, good / window, r.requests().size(), answered,
                answered - ok.size(), r.requests().size() - answered, lat,
                hits + misses == 0 ? Double.NaN : (double) hits / (hits + misses), hitRateByLevel, checkpoints, engine, cpu);
    }

    static Percentiles percentiles(List<RequestOutcome> rs, ToDoubleFunction<RequestOutcome> f) {
        DoubleHistogram h = new DoubleHistogram(3);
        for (RequestOutcome r : rs) {
            double v = f.applyAsDouble(r);
            if (!Double.isNaN(v) && v >= 0) h.recordValue(Math.max(v, 1e-3));
        }
        if (h.getTotalCount() == 0) return new Percentiles(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        return new Percentiles(h.getTotalCount(), h.getMean(), h.getValueAtPercentile(50), h.getValueAtPercentile(90),
                h.getValueAtPercentile(99), h.getMaxValue());
    }

    /** The same histogram's distribution, for a CDF plot: (latency ms, fraction at or below). */
    static double[][] cdf(List<RequestOutcome> rs, ToDoubleFunction<RequestOutcome> f) {
        DoubleHistogram h = new DoubleHistogram(3);
        for (RequestOutcome r : rs) {
            double v = f.applyAsDouble(r);
            if (r.ok() && !Double.isNaN(v) && v >= 0) h.recordValue(Math.max(v, 1e-3));
        }
        if (h.getTotalCount() == 0) return new double[2][0];
        double[] ps = new double[101];
        double[] xs = new double[101];
        for (int i = 0; i <= 100; i++) {
            ps[i] = i / 100.0;
            xs[i] = h.getValueAtPercentile(Math.max(0.01, i));
        }
        return new double[][] {xs, ps};
    }
}
