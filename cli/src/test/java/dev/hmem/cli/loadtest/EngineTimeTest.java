package dev.hmem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The split of an engine's interval into busy share, rows per step and time per step. */
class EngineTimeTest {

    @Test
    void anIntervalIsTheDifferenceOfTwoReadingsPerEngine() {
        // Engine 0: 10 s window, 100 steps of 50 ms (busy 5 s), 20 rows each; engine 1: 50 steps of 100 ms, 8 rows.
        List<EngineTime.Counters> before = List.of(new EngineTime.Counters(7, 1_000_000, 3, 99), new EngineTime.Counters(0, 0, 0, 0));
        List<EngineTime.Counters> after = List.of(new EngineTime.Counters(107, 6_000_000, 43, 2099),
                new EngineTime.Counters(50, 5_000_000, 10, 400));
        EngineTime t = EngineTime.between(before, after, 10);
        assertThat(t.busyShares()).containsExactly(0.5, 0.5);
        assertThat(t.steps()).isEqualTo(150);
        assertThat(t.rowsPerStep()).isCloseTo(2400 / 150.0, within(1e-12));
        assertThat(t.msPerStep()).isCloseTo(10_000 / 150.0, within(1e-9));
        assertThat(t.prefillPerStep()).isCloseTo(50 / 150.0, within(1e-12));
        assertThat(t.decodeRowsPerSecond()).isCloseTo(240, within(1e-9));
    }

    @Test
    void throughputIsEnginesTimesBusyTimesRowsOverStepTime() {
        // The identity the report's reader relies on, for random engines with equal-length steps.
        Random r = new Random(5);
        for (int trial = 0; trial < 200; trial++) {
            int engines = 1 + r.nextInt(4);
            double seconds = 1 + 100 * r.nextDouble();
            List<EngineTime.Counters> zero = new ArrayList<>(), after = new ArrayList<>();
            long stepMicros = 1000 + r.nextInt(100_000);
            for (int e = 0; e < engines; e++) {
                long maxSteps = (long) (seconds * 1e6 / stepMicros);
                long steps = 1 + (maxSteps <= 1 ? 0 : r.nextLong(maxSteps - 1));
                zero.add(new EngineTime.Counters(0, 0, 0, 0));
                after.add(new EngineTime.Counters(steps, steps * stepMicros, r.nextInt(100), steps * (1 + r.nextInt(64))));
            }
            EngineTime t = EngineTime.between(zero, after, seconds);
            // Rows per step is a mean over all engines' steps, so the identity holds for the pooled figures.
            double predicted = engines * t.busyShare() * t.rowsPerStep() / (t.msPerStep() / 1e3);
            assertThat(predicted).isCloseTo(t.decodeRowsPerSecond(), within(1e-6 * t.decodeRowsPerSecond() + 1e-9));
        }
    }

    @Test
    void aChangedSetOfEnginesIsRefused() {
        assertThatThrownBy(() -> EngineTime.between(List.of(new EngineTime.Counters(0, 0, 0, 0)), List.of(), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 engines before, 0 after");
    }
}
