package dev.hmem.operators.functions;

import dev.hmem.operators.engine.EngineMetrics;
import dev.hmem.operators.engine.StepTotals;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.HistogramStatistics;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The engine's measurements as Flink metrics: per cache level hits, misses, evictions and load
 * time; batch size; queue time; time to first token; tokens/s; end-to-end latency. The engine
 * reports from its own threads, so counters are LongAdders and histograms are synchronised.
 */
final class FlinkEngineMetrics implements EngineMetrics {

    private static final int WINDOW = 1000;

    private final MetricGroup group;
    private final Map<Integer, Counter> hits = new HashMap<>(), misses = new HashMap<>(), evictions = new HashMap<>(),
            failures = new HashMap<>(), fallbacks = new HashMap<>();
    private final Map<Integer, Histogram> loads = new HashMap<>();
    private final Histogram batch, queue, firstToken, endToEnd;
    private final Counter tokens, deferred, revived;
    private final StepTotals totals = new StepTotals();

    FlinkEngineMetrics(MetricGroup group) {
        this.group = group;
        this.batch = group.histogram("batchSize", new SyncHistogram());
        this.queue = group.histogram("queueTimeMs", new SyncHistogram());
        this.firstToken = group.histogram("timeToFirstTokenMs", new SyncHistogram());
        this.endToEnd = group.histogram("endToEndLatencyMs", new SyncHistogram());
        this.tokens = group.counter("tokens", new AdderCounter());
        group.meter("tokensPerSecond", new MeterView(tokens));
        this.deferred = group.addGroup("cache").counter("prefetchesDeferred", new AdderCounter());
        this.revived = group.addGroup("cache").counter("blocksRevived", new AdderCounter());
        // Counters, not histograms: a load test reads them at two moments and divides the differences.
        MetricGroup engine = group.addGroup("engine");
        engine.counter("steps", new TotalCounter(totals::steps));
        engine.counter("stepMicros", new TotalCounter(totals::stepMicros));
        engine.counter("prefillRows", new TotalCounter(totals::prefillRows));
        engine.counter("decodeRows", new TotalCounter(totals::decodeRows));
    }

    private synchronized MetricGroup level(int level) {
        return group.addGroup("cache").addGroup("level", level == 0 ? "generic" : Integer.toString(level));
    }

    private synchronized Counter counter(Map<Integer, Counter> m, int level, String name) {
        return m.computeIfAbsent(level, l -> level(l).counter(name, new AdderCounter()));
    }

    @Override public void cacheHit(int level) { counter(hits, level, "hits").inc(); }
    @Override public void cacheMiss(int level) { counter(misses, level, "misses").inc(); }
    @Override public void cacheEviction(int level) { counter(evictions, level, "evictions").inc(); }
    @Override public void blockFailed(int level) { counter(failures, level, "blockFailures").inc(); }
    @Override public void memoryFallback(int level) { counter(fallbacks, level, "memoryFallbacks").inc(); }

    @Override
    public void blockLoaded(int level, double millis) {
        Histogram h;
        synchronized (this) {
            h = loads.computeIfAbsent(level, l -> level(l).histogram("loadTimeMs", new SyncHistogram()));
        }
        h.update(Math.round(millis));
    }

    @Override public void prefetchDeferred() { deferred.inc(); }
    @Override public void blockRevived(int level) { revived.inc(); }

    @Override public void batch(int rows) { batch.update(rows); }

    @Override public void step(int prefilled, int decoded, long nanos) { totals.step(prefilled, decoded, nanos); }

    @Override public void queued(double millis) { queue.update(Math.round(millis)); }
    @Override public void firstToken(double millis) { firstToken.update(Math.round(millis)); }
    @Override public void tokens(int count) { tokens.inc(count); }
    @Override public void endToEnd(double millis) { endToEnd.update(Math.round(millis)); }

    /** A counter safe to increment from several threads. */
    static final class AdderCounter implements Counter {
        private final LongAdder n = new LongAdder();
        @Override public void inc() { n.increment(); }
        @Override public void inc(long v) { n.add(v); }
        @Override public void dec() { n.decrement(); }
        @Override public void dec(long v) { n.add(-v); }
        @Override public long getCount() { return n.sum(); }
    }

    /** A counter that shows one of the step totals; only the engine adds to them. */
    private record TotalCounter(java.util.function.LongSupplier total) implements Counter {
        @Override public void inc() { throw new UnsupportedOperationException("step totals are added by the engine"); }
        @Override public void inc(long v) { inc(); }
        @Override public void dec() { inc(); }
        @Override public void dec(long v) { inc(); }
        @Override public long getCount() { return total.getAsLong(); }
    }

    /** Flink's sliding-window histogram behind a lock. */
    static final class SyncHistogram implements Histogram {
        private final DescriptiveStatisticsHistogram h = new DescriptiveStatisticsHistogram(WINDOW);
        @Override public synchronized void update(long value) { h.update(value); }
        @Override public synchronized long getCount() { return h.getCount(); }
        @Override public synchronized HistogramStatistics getStatistics() { return h.getStatistics(); }
    }
}
