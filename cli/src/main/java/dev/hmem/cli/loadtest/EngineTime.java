package dev.hmem.cli.loadtest;

import java.util.List;

/**
 * Where generate subtasks' time went over an interval, from their engines' step counters: the
 * share of the interval each engine spent stepping, decode rows per step, time per step and
 * prompts prefilled per step. Output tokens/s = engines × busy share × rows per step ÷ time per
 * step, so a gap between the job and its engine alone splits into these three causes.
 *
 * @param seconds     the interval
 * @param busyShares  per engine (subtask), the share of the interval spent in steps
 */
public record EngineTime(double seconds, long steps, long stepMicros, long prefillRows, long decodeRows, List<Double> busyShares) {

    /** Cumulative counters of one engine at one moment. */
    public record Counters(long steps, long stepMicros, long prefillRows, long decodeRows) {
        Counters minus(Counters o) {
            return new Counters(steps - o.steps, stepMicros - o.stepMicros, prefillRows - o.prefillRows, decodeRows - o.decodeRows);
        }
    }

    /** The interval between two readings of the same engines (one entry per engine, in the same order). */
    public static EngineTime between(List<Counters> before, List<Counters> after, double seconds) {
        if (before.size() != after.size()) throw new IllegalArgumentException(before.size() + " engines before, " + after.size() + " after");
        long steps = 0, micros = 0, prefill = 0, decode = 0;
        List<Double> busy = new java.util.ArrayList<>();
        for (int i = 0; i < after.size(); i++) {
            Counters d = after.get(i).minus(before.get(i));
            steps += d.steps;
            micros += d.stepMicros;
            prefill += d.prefillRows;
            decode += d.decodeRows;
            busy.add(Math.min(1, d.stepMicros / 1e6 / seconds));
        }
        return new EngineTime(seconds, steps, micros, prefill, decode, List.copyOf(busy));
    }

    /** Mean over engines of the share of the interval spent stepping. */
    public double busyShare() {
        return busyShares.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    public double rowsPerStep() {
        return steps == 0 ? Double.NaN : (double) decodeRows / steps;
    }

    public double msPerStep() {
        return steps == 0 ? Double.NaN : stepMicros / 1e3 / steps;
    }

    public double prefillPerStep() {
        return steps == 0 ? Double.NaN : (double) prefillRows / steps;
    }

    /** Decode rows per second over all engines: the output tokens/s the steps account for. */
    public double decodeRowsPerSecond() {
        return decodeRows / seconds;
    }
}
