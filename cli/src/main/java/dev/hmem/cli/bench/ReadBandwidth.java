package dev.hmem.cli.bench;

import dev.hmem.cli.bench.jmh.ReadBandwidthBenchmark;

/**
 * The machine's memory read bandwidth on all cores, measured by JMH ({@link ReadBandwidthBenchmark}) inside the calling
 * process ({@link InProcessJmh}), as {@link GemmRate} measures the GEMM ceiling: batch-1 decode — bound by streaming the
 * weights — is then given as a share of what the memory could deliver at that time.
 */
public final class ReadBandwidth {

    private ReadBandwidth() {}

    /** GB/s (10^9 bytes) read by {@code threads} threads at once: the median of {@code iterations} one-second iterations. */
    public static double measure(int threads, int iterations) {
        return InProcessJmh.medianCallsPerSecond(ReadBandwidthBenchmark.class, threads, iterations) * ReadBandwidthBenchmark.BYTES / 1e9;
    }
}
