package dev.hmem.cli.bench;

import dev.hmem.cli.bench.jmh.MatmulKernelBenchmark;
import dev.hmem.runtime.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.commons.math3.stat.descriptive.rank.Median;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The Java decode path's Vector API kernel on several JDKs in one run: JMH forks {@link MatmulKernelBenchmark} on each
 * JDK in turn, round after round, so every round's ratio compares runs a minute apart (this machine's speed drifts by
 * more than the differences sought). The first JDK is the baseline of the ratios.
 */
public final class JdkBench {

    public record Options(List<Path> jdks, int rounds, Path report) {}

    private final Options o;

    public JdkBench(Options o) {
        this.o = o;
    }

    public String run() throws IOException {
        for (Path jdk : o.jdks) {
            if (!Files.isExecutable(java(jdk))) throw new IOException(jdk + " is not a JDK: no executable bin/java");
        }
        Map<String, List<Double>> gbs = new LinkedHashMap<>();  // "jdk|format|rows" → GB/s of weights, per round
        Map<Path, String> versions = new LinkedHashMap<>();
        Progress progress = Progress.of("jdk bench", (long) o.rounds * o.jdks.size(), "runs");
        for (int round = 0; round < o.rounds; round++) {
            for (Path jdk : o.jdks) {
                for (RunResult r : kernels(jdk)) {
                    var p = r.getParams();
                    String format = p.getParam("format");
                    double score = r.getPrimaryResult().getScore();  // calls per second
                    gbs.computeIfAbsent(key(jdk, format, Integer.parseInt(p.getParam("rows"))), k -> new ArrayList<>())
                            .add(score * MatmulKernelBenchmark.bytes(format) / 1e9);
                    versions.put(jdk, p.getJdkVersion() + " (" + p.getVmName() + " " + p.getVmVersion() + ")");
                }
                progress.advance(1, "round " + (round + 1) + ", " + jdk.getFileName());
            }
        }
        String md = report(gbs, versions);
        if (o.report != null) BenchReport.writeSection(o.report, "jdk", md);
        return md;
    }

    private static Path java(Path jdk) {
        return jdk.resolve("bin").resolve("java");
    }

    static String key(Path jdk, String format, int rows) {
        return jdk + "|" + format + "|" + rows;
    }

    private static java.util.Collection<RunResult> kernels(Path jdk) throws IOException {
        try {
            return new Runner(new OptionsBuilder().include(MatmulKernelBenchmark.class.getName().replace(".", "\\.") + "\\.")
                    .forks(1).jvm(java(jdk).toString()).jvmArgsAppend("--add-modules", "jdk.incubator.vector", "-Xmx2g")
                    .threads(1).warmupIterations(2).warmupTime(TimeValue.seconds(1)).measurementIterations(3)
                    .measurementTime(TimeValue.seconds(1)).timeUnit(TimeUnit.SECONDS).verbosity(VerboseMode.SILENT).build()).run();
        } catch (RunnerException e) {
            throw new IOException("the kernel benchmark failed on " + jdk + ": " + e.getMessage(), e);
        }
    }

    /** Each JDK's rate over the first's: the median of per-round ratios, with their range. */
    static double[] ratio(List<Double> of, List<Double> base) {
        double[] r = new double[Math.min(of.size(), base.size())];
        for (int i = 0; i < r.length; i++) r[i] = of.get(i) / base.get(i);
        return new double[] {new Median().evaluate(r), Arrays.stream(r).min().orElse(Double.NaN), Arrays.stream(r).max().orElse(Double.NaN)};
    }

    private String report(Map<String, List<Double>> gbs, Map<Path, String> versions) {
        Path base = o.jdks.get(0);
        StringBuilder sb = new StringBuilder("## The Vector API kernels on newer JDKs\n\n");
        sb.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        sb.append(String.format(Locale.ROOT, "`MatmulKernelBenchmark` (JMH, one thread, a fork per JDK and case, 2 warm-up and 3 measured "
                + "iterations of 1 s): %d anchor matrices of %d × %d (%.0f MiB in f32) times 1 or 8 rows, as the Java decode path "
                + "multiplies them, in f32 and bf16; weights streamed per second. The JDKs take turns in each of %d rounds; ratio = "
                + "that JDK's rate ÷ %s's, the median of per-round ratios (range).%n%n", MatmulKernelBenchmark.MATRICES,
                MatmulKernelBenchmark.OUT, MatmulKernelBenchmark.IN, MatmulKernelBenchmark.bytes("f32") / (1 << 20), o.rounds,
                base.getFileName()));
        for (Path jdk : o.jdks) sb.append("- `").append(jdk).append("`: ").append(versions.get(jdk)).append('\n');
        sb.append("\n| weights | rows |");
        for (Path jdk : o.jdks) sb.append(' ').append(jdk.getFileName()).append(" GB/s |");
        for (Path jdk : o.jdks.subList(1, o.jdks.size())) sb.append(' ').append(jdk.getFileName()).append(" ÷ ").append(base.getFileName()).append(" |");
        sb.append("\n|---|---|").append("---|".repeat(2 * o.jdks.size() - 1)).append('\n');
        for (String format : new String[] {"f32", "bf16"}) {
            for (int rows : new int[] {1, 8}) {
                sb.append("| ").append(format).append(" | ").append(rows).append(" |");
                for (Path jdk : o.jdks) {
                    sb.append(String.format(Locale.ROOT, " %.1f |", new Median().evaluate(gbs.get(key(jdk, format, rows)).stream().mapToDouble(d -> d).toArray())));
                }
                for (Path jdk : o.jdks.subList(1, o.jdks.size())) {
                    double[] r = ratio(gbs.get(key(jdk, format, rows)), gbs.get(key(base, format, rows)));
                    sb.append(String.format(Locale.ROOT, " **%.2f×** (%.2f–%.2f) |", r[0], r[1], r[2]));
                }
                sb.append('\n');
            }
        }
        sb.append("\nReproduce: `./hmem bench jdk --jdk ").append(String.join(" --jdk ", o.jdks.stream().map(Path::toString).toList()))
                .append(" --rounds ").append(o.rounds).append("` (about ").append(Math.max(1, o.rounds * o.jdks.size() / 2))
                .append(" minutes).\n");
        return sb.toString();
    }
}
