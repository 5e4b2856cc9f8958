package dev.hmem.cli.bench;

import dev.hmem.cli.bench.jmh.GemmBenchmark;
import java.util.concurrent.TimeUnit;
import org.apache.commons.math3.stat.descriptive.rank.Median;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The machine's fp32 GEMM ceiling, measured by JMH ({@link GemmBenchmark}) inside the calling process: the decode
 * bench measures it in every round, between its own scenarios, so it cannot fork a JVM of its own for it.
 */
public final class GemmRate {

    private GemmRate() {}

    /** GFLOP/s: the median of {@code iterations} one-second JMH iterations after one of warm-up. */
    public static double measure(int iterations) {
        try {
            RunResult r = new Runner(new OptionsBuilder().include(GemmBenchmark.class.getName()).forks(0)
                    .warmupIterations(1).warmupTime(TimeValue.seconds(1)).measurementIterations(iterations)
                    .measurementTime(TimeValue.seconds(1)).timeUnit(TimeUnit.SECONDS).verbosity(VerboseMode.SILENT).build())
                    .runSingle();
            double[] perIteration = r.getBenchmarkResults().stream().flatMap(b -> b.getIterationResults().stream())
                    .mapToDouble(i -> i.getPrimaryResult().getScore()).toArray();
            return new Median().evaluate(perIteration) * GemmBenchmark.FLOPS / 1e9;
        } catch (RunnerException e) {
            throw new IllegalStateException("the GEMM benchmark failed: " + e.getMessage(), e);
        }
    }
}
