package dev.hmem.cli.bench;

import dev.hmem.cli.bench.jmh.GemmBenchmark;

/** The machine's fp32 GEMM ceiling, measured by JMH ({@link GemmBenchmark}) inside the calling process ({@link InProcessJmh}). */
public final class GemmRate {

    private GemmRate() {}

    /** GFLOP/s: the median of {@code iterations} one-second JMH iterations after one of warm-up. */
    public static double measure(int iterations) {
        return InProcessJmh.medianCallsPerSecond(GemmBenchmark.class, 1, iterations) * GemmBenchmark.FLOPS / 1e9;
    }
}
