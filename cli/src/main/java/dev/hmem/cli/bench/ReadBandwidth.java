package dev.hmem.cli.bench;

import dev.hmem.cli.bench.jmh.ReadBandwidthBenchmark;
import java.util.concurrent.TimeUnit;
import org.apache.commons.math3.stat.descriptive.rank.Median;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The machine's memory read bandwidth on all cores, measured by JMH ({@link ReadBandwidthBenchmark}) inside the calling
 * process, as {@link GemmRate} measures the GEMM ceiling: the decode bench measures it in every round, so that batch-1
 * decode — bound by streaming the weights — can be given as a share of what the memory could deliver at that time.
 */
public final class ReadBandwidth {

    private ReadBandwidth() {}

    /** GB/s (10^9 bytes) read by {@code threads} threads at once: the median of {@code iterations} one-second iterations. */
    public static double measure(int threads, int iterations) {
        try {
            RunResult r = new Runner(new OptionsBuilder().include(ReadBandwidthBenchmark.class.getName()).forks(0).threads(threads)
                    .warmupIterations(1).warmupTime(TimeValue.seconds(1)).measurementIterations(iterations)
                    .measurementTime(TimeValue.seconds(1)).timeUnit(TimeUnit.SECONDS).verbosity(VerboseMode.SILENT).build())
                    .runSingle();
            // Throughput mode: an iteration's score is the calls per second of all threads together.
            double[] perIteration = r.getBenchmarkResults().stream().flatMap(b -> b.getIterationResults().stream())
                    .mapToDouble(i -> i.getPrimaryResult().getScore()).toArray();
            return new Median().evaluate(perIteration) * ReadBandwidthBenchmark.BYTES / 1e9;
        } catch (RunnerException e) {
            throw new IllegalStateException("the read bandwidth benchmark failed: " + e.getMessage(), e);
        }
    }
}
