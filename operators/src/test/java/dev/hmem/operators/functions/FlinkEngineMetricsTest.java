package dev.hmem.operators.functions;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

/**
 * The engine's step counters under the names a load test reads ({@code engine.steps},
 * {@code engine.stepMicros}, {@code engine.prefillRows}, {@code engine.decodeRows}), counted
 * exactly when several threads report at once.
 */
class FlinkEngineMetricsTest {

    /** A metric group that remembers its counters by dotted name. */
    private static final class Recording extends UnregisteredMetricsGroup {
        final Map<String, Counter> counters;
        final String prefix;

        Recording(Map<String, Counter> counters, String prefix) {
            this.counters = counters;
            this.prefix = prefix;
        }

        @Override
        public <C extends Counter> C counter(String name, C counter) {
            counters.put(prefix + name, counter);
            return counter;
        }

        @Override
        public MetricGroup addGroup(String name) {
            return new Recording(counters, prefix + name + ".");
        }

        @Override
        public MetricGroup addGroup(String key, String value) {
            return new Recording(counters, prefix + key + "." + value + ".");
        }
    }

    @Test
    void stepsFromManyThreadsAreCountedUnderTheNamesTheLoadTestReads() throws Exception {
        Map<String, Counter> counters = new ConcurrentHashMap<>();
        FlinkEngineMetrics m = new FlinkEngineMetrics(new Recording(counters, ""));
        int threads = 4, stepsEach = 10_000;
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                for (int i = 0; i < stepsEach; i++) m.step(i % 3, id + 1, 2_500 + id * 1000L);  // nanos → whole micros
            });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        long prefill = 0;
        for (int i = 0; i < stepsEach; i++) prefill += i % 3;
        assertThat(counters.get("engine.steps").getCount()).isEqualTo((long) threads * stepsEach);
        assertThat(counters.get("engine.prefillRows").getCount()).isEqualTo(threads * prefill);
        assertThat(counters.get("engine.decodeRows").getCount()).isEqualTo((long) stepsEach * (1 + 2 + 3 + 4));
        assertThat(counters.get("engine.stepMicros").getCount()).isEqualTo((long) stepsEach * (2 + 3 + 4 + 5));
    }

    @Test
    void damagedBlocksAndFallbacksAreCountedPerLevel() {
        Map<String, Counter> counters = new ConcurrentHashMap<>();
        FlinkEngineMetrics m = new FlinkEngineMetrics(new Recording(counters, ""));
        m.blockFailed(2);
        m.blockFailed(2);
        m.blockFailed(1);
        for (int i = 0; i < 5; i++) m.memoryFallback(2);
        assertThat(counters).containsKeys("cache.level.2.blockFailures", "cache.level.1.blockFailures", "cache.level.2.memoryFallbacks");
        assertThat(counters.get("cache.level.2.blockFailures").getCount()).isEqualTo(2);
        assertThat(counters.get("cache.level.1.blockFailures").getCount()).isEqualTo(1);
        assertThat(counters.get("cache.level.2.memoryFallbacks").getCount()).isEqualTo(5);
    }
}
