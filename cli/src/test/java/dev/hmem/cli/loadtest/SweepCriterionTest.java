package dev.hmem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SweepCriterionTest {

    static StepStats step(double offered, double achieved, double goodput) {
        StepStats.Percentiles p = new StepStats.Percentiles(1, 1, 1, 1, 1, 1);
        Map<String, StepStats.Percentiles> lat = new LinkedHashMap<>();
        for (String l : StepStats.LATENCIES) lat.put(l, p);
        return new StepStats("s", offered, 0, offered, achieved, 10 * achieved, goodput, 100, 100, 0, 0, lat, 0.9, Map.of(), Map.of(),
                null, Map.of());
    }

    static LoadTest.Options options(double sloCapacity) {
        return new LoadTest.Options("b", Map.of(), "p", "r", List.of(), List.of(), true, 10, 2, 3, 8, Slo.parse("e2e=1000"), null, null,
                null, "t", Map.of(), null, null, false, 0, Ramp.NONE, sloCapacity);
    }

    @Test
    void withAnSloShareCapacityNeedsGoodputNotOnlyThroughput() {
        StepStats keepsUpLate = step(10, 9.8, 5);   // absorbs the load, half of it too slowly
        StepStats keepsUpInTime = step(10, 9.8, 9.5);
        StepStats fallsBehind = step(10, 6, 6);
        assertThat(LoadTest.meets(keepsUpLate, options(0))).isTrue();
        assertThat(LoadTest.meets(keepsUpLate, options(0.9))).isFalse();
        assertThat(LoadTest.meets(keepsUpInTime, options(0.9))).isTrue();
        assertThat(LoadTest.meets(fallsBehind, options(0))).isFalse();
    }
}
