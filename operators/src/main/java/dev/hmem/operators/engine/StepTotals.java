package dev.hmem.operators.engine;

import java.util.concurrent.atomic.LongAdder;

/**
 * Running totals of an engine's steps: steps, microseconds in them, prompts prefilled, rows
 * decoded — the metrics of an engine that reports only these. Added to from the engine's thread, read from any: the Flink
 * operator exposes them as counters, the engine-alone benchmark reads them directly, and a load
 * test divides the differences of two readings.
 */
public final class StepTotals implements EngineMetrics {

    private final LongAdder steps = new LongAdder(), micros = new LongAdder(), prefill = new LongAdder(), decode = new LongAdder();

    @Override
    public void step(int prefillRows, int decodeRows, long nanos) {
        steps.increment();
        micros.add(nanos / 1000);
        prefill.add(prefillRows);
        decode.add(decodeRows);
    }

    public long steps() {
        return steps.sum();
    }

    public long stepMicros() {
        return micros.sum();
    }

    public long prefillRows() {
        return prefill.sum();
    }

    public long decodeRows() {
        return decode.sum();
    }
}
