package dev.hmem.cli.bench;

import java.util.concurrent.TimeUnit;
import org.apache.commons.math3.stat.descriptive.rank.Median;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * A JMH benchmark run inside the calling process (no fork): the decode bench measures the machine's ceilings in every
 * round, between its own scenarios, so that each round's figures divide by what the machine could do at that time.
 */
final class InProcessJmh {

    private InProcessJmh() {}

    /** Calls per second of all {@code threads} together: the median of {@code iterations} one-second iterations after one of warm-up. */
    static double medianCallsPerSecond(Class<?> benchmark, int threads, int iterations) {
        try {
            RunResult r = new Runner(new OptionsBuilder().include(benchmark.getName()).forks(0).threads(threads)
                    .warmupIterations(1).warmupTime(TimeValue.seconds(1)).measurementIterations(iterations)
                    .measurementTime(TimeValue.seconds(1)).timeUnit(TimeUnit.SECONDS).verbosity(VerboseMode.SILENT).build())
                    .runSingle();
            double[] perIteration = r.getBenchmarkResults().stream().flatMap(b -> b.getIterationResults().stream())
                    .mapToDouble(i -> i.getPrimaryResult().getScore()).toArray();
            return new Median().evaluate(perIteration);
        } catch (RunnerException e) {
            throw new IllegalStateException(benchmark.getSimpleName() + " failed: " + e.getMessage(), e);
        }
    }
}
