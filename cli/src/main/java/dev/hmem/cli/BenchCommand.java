package dev.hmem.cli;

import dev.hmem.cli.bench.DecodeBench;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Benchmarks that write their figures into docs/BENCHMARKS.md. */
@Command(name = "bench", description = "Run a benchmark and write its section of docs/BENCHMARKS.md.",
        subcommands = {BenchCommand.Decode.class, BenchCommand.Cluster.class, BenchCommand.Operations.class, BenchCommand.Cache.class, BenchCommand.Fetch.class, BenchCommand.Cliff.class, BenchCommand.Jdk.class})
final class BenchCommand {

    @Command(name = "decode", mixinStandardHelpOptions = true,
            description = "Decode tokens/s at several batch sizes: anchor, +memory, 8 mixed paths; GEMM rate; block loads.")
    static final class Decode implements Callable<Integer> {
        @Option(names = "--batches", split = ",", defaultValue = "1,8,32,64") int[] batches;
        @Option(names = "--steps", defaultValue = "32", description = "decode steps timed per run") int steps;
        @Option(names = "--rounds", defaultValue = "5", description = "interleaved rounds (median taken)") int rounds;
        @Option(names = "--prompt-tokens", defaultValue = "64") int promptTokens;
        @Option(names = "--threads", defaultValue = "0", description = "PyTorch intra-op threads (0 = all cores)") int threads;
        @Option(names = "--bank-dir", description = "where the random benchmark bank is kept")
        Path bankDir = Path.of(System.getProperty("user.home"), ".cache", "hmem");
        @Option(names = "--report", description = "markdown file to update", defaultValue = "docs/BENCHMARKS.md") Path report;
        @Option(names = "--accuracy-run", description = "a trained run whose held-out text measures what bf16 weights cost "
                + "(default: the demo model, when it has been trained)")
        Path accuracyRun = Path.of(System.getProperty("user.home"), ".cache", "hmem", "models", "demo");
        @Option(names = "--llama-cpp", description = "llama.cpp's llama-batched-bench (../shared/peers/llama.cpp/build.sh DIR builds it): "
                + "the peer, run on the same anchor inside every round; without it no peer figure is reported")
        Path llamaCpp;
        @Option(names = "--shape", defaultValue = "bench", description = "a named Llama shape with random weights: bench (the 31.5M "
                + "reference), gqa (bench with 2 key/value heads), wide (d 768, 12 layers), paper (the paper's 160M anchor)") String shape;
        @Option(names = "--model", description = "an hmem model directory to bench instead of a named shape") Path model;

        @Override
        public Integer call() throws Exception {
            if (threads > 0) dev.hmem.runtime.tensor.TorchThreads.set(threads);
            dev.hmem.runtime.config.Presets.byName(shape, 8192, 8190, 8191);  // an unknown name fails before anything runs
            String md = new DecodeBench(new DecodeBench.Options(batches, steps, rounds, promptTokens, threads, bankDir, report,
                    accuracyRun, llamaCpp, shape, model)).run();
            System.out.println(md);
            return 0;
        }
    }

    @Command(name = "cluster", mixinStandardHelpOptions = true,
            description = "Load tests on the local multi-process cluster: rate sweep, job vs engine, full vs naive, cache cliff, Zipf.")
    static final class Cluster implements Callable<Integer> {
        @Option(names = "--work-dir", description = "the benchmark model and the cluster's run directory")
        Path work = Path.of(System.getProperty("user.home"), ".cache", "hmem", "bench");
        @Option(names = "--model", description = "a model directory instead of the benchmark model") Path model;
        @Option(names = "--bank", description = "its bank") Path bank;
        @Option(names = "--max-new-tokens", defaultValue = "32") int maxNewTokens;
        @Option(names = "--step-seconds", defaultValue = "60") double step;
        @Option(names = "--warmup", defaultValue = "15") double warmup;
        @Option(names = "--cache-mb", defaultValue = "256") int cacheMb;
        @Option(names = "--report", defaultValue = "docs/BENCHMARKS.md") Path report;
        @Option(names = "--plots", defaultValue = "docs/bench") Path plots;
        @Option(names = "--ratio-only", description = "only the engine alone, a rate sweep of the full design and the naive job "
                + "at its capacity (about 15 minutes), into the report's section loadtest-ratio") boolean ratioOnly;
        @Option(names = "--overload", description = "only the overload runs: 2x and 4x capacity with admission control, 2x with "
                + "back-pressure, long generations at 1.2x and 2x their own capacity (about 35 minutes), into the section loadtest-overload") boolean overload;

        @Override
        public Integer call() throws Exception {
            Path home = dev.hmem.cli.cluster.ClusterCommand.home();
            var bench = new dev.hmem.cli.bench.ClusterBench(new dev.hmem.cli.bench.ClusterBench.Options(work, model, bank,
                    home.resolve("jobs/target/hmem-job.jar"), home.resolve("cluster/target/flink"), home.resolve("deploy"),
                    maxNewTokens, step, warmup, cacheMb, report, plots));
            String md = overload ? bench.overload() : bench.run(ratioOnly);
            System.out.println(md);
            return 0;
        }
    }

    @Command(name = "cache", mixinStandardHelpOptions = true,
            description = {"The capacity model (`hmem size`) against the real block cache: hit rate per level, predicted and measured,",
                    "under Zipf popularity at several budgets, with and without hierarchy-aware placement (a few minutes)."})
    static final class Cache implements Callable<Integer> {
        @Option(names = "--work-dir") Path work = Path.of(System.getProperty("user.home"), ".cache", "hmem", "bench");
        @Option(names = "--zipf", split = ",", defaultValue = "0.8,1.0,1.2") double[] zipf;
        @Option(names = "--fractions", split = ",", defaultValue = "0.05,0.1,0.25,0.5,0.75,1.0",
                description = "budgets per subtask as shares of the deep working set") double[] fractions;
        @Option(names = "--subtasks", defaultValue = "2") int subtasks;
        @Option(names = "--warmup", defaultValue = "30000", description = "prompts before counting") int warmup;
        @Option(names = "--prompts", defaultValue = "60000", description = "prompts counted per point") int prompts;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--report", defaultValue = "docs/BENCHMARKS.md") Path report;
        @Option(names = "--plots", defaultValue = "docs/bench") Path plots;

        @Override
        public Integer call() throws Exception {
            if (subtasks < 1 || warmup < 0 || prompts < 1) throw new IllegalArgumentException("need --subtasks >= 1, --warmup >= 0, --prompts >= 1");
            System.out.println(new dev.hmem.cli.bench.CacheBench(new dev.hmem.cli.bench.CacheBench.Options(work, report, plots, zipf,
                    fractions, subtasks, warmup, prompts, seed)).run());
            return 0;
        }
    }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = {"The paper-size bank (9.3 GB, built on first use, resumable) and a flat one on S3Proxy, read through Flink's",
                    "S3 plugin: fetch latency per level and per path, cold / warm / hot, and bank open times (about 15 minutes)."})
    static final class Fetch implements Callable<Integer> {
        @Option(names = "--work-dir") Path work = Path.of(System.getProperty("user.home"), ".cache", "hmem", "bench");
        @Option(names = "--samples", defaultValue = "200", description = "fetches per row") int samples;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--report", defaultValue = "docs/BENCHMARKS.md") Path report;

        @Override
        public Integer call() throws Exception {
            if (samples < 1) throw new IllegalArgumentException("--samples must be >= 1");
            System.out.println(new dev.hmem.cli.bench.FetchBench(new dev.hmem.cli.bench.FetchBench.Options(work, report, samples, seed)).run());
            return 0;
        }
    }

    @Command(name = "jdk", mixinStandardHelpOptions = true,
            description = "The Java decode path's Vector API kernel (f32 and bf16, 1 and 8 rows) on each JDK in turn, in rounds.")
    static final class Jdk implements Callable<Integer> {
        @Option(names = "--jdk", description = "a JDK home (repeatable); the first is the baseline (default: this JVM's, then Temurin 25)")
        java.util.List<Path> jdks = new java.util.ArrayList<>();
        @Option(names = "--rounds", defaultValue = "5") int rounds;
        @Option(names = "--report", defaultValue = "docs/BENCHMARKS.md") Path report;

        @Override
        public Integer call() throws Exception {
            if (jdks.isEmpty()) jdks = java.util.List.of(Path.of(System.getProperty("java.home")), Path.of("/usr/lib/jvm/temurin-25-jdk-amd64"));
            if (jdks.size() < 2 || rounds < 1) throw new IllegalArgumentException("need two or more --jdk and --rounds >= 1");
            System.out.println(new dev.hmem.cli.bench.JdkBench(new dev.hmem.cli.bench.JdkBench.Options(jdks, rounds, report)).run());
            return 0;
        }
    }

    @Command(name = "cliff", mixinStandardHelpOptions = true,
            description = {"The working-set cliff at the paper's tree (4,096 leaves) on the local cluster with 2 TaskManagers: hit rate per",
                    "level, tokens/s and TTFT p99 against the block-cache budget beside the capacity model, and TaskManager RSS (about 30 minutes)."})
    static final class Cliff implements Callable<Integer> {
        @Option(names = "--work-dir") Path work = Path.of(System.getProperty("user.home"), ".cache", "hmem", "bench");
        @Option(names = "--zipf", split = ",", defaultValue = "0.8,1.0,1.2") double[] zipf;
        @Option(names = "--fractions", split = ",", defaultValue = "0.05,0.1,0.25,0.5,1.0",
                description = "budgets per subtask as shares of its deep working set (levels 2-3, half the bank)") double[] fractions;
        @Option(names = "--rate", defaultValue = "8", description = "requests per second") double rate;
        @Option(names = "--max-new-tokens", defaultValue = "8") int maxNewTokens;
        @Option(names = "--step-seconds", defaultValue = "40", description = "each of the two steps per point") double step;
        @Option(names = "--tm-memory-mb", defaultValue = "5120", description = "TaskManager process size") int tmMemory;
        @Option(names = "--replot", description = "only draw the plot again from the last run's PLOTS/cliff/l3-points.csv") boolean replot;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--report", defaultValue = "docs/BENCHMARKS.md") Path report;
        @Option(names = "--plots", defaultValue = "docs/bench") Path plots;

        @Override
        public Integer call() throws Exception {
            if (rate <= 0 || step <= 10 || maxNewTokens < 1) throw new IllegalArgumentException("need --rate > 0, --step-seconds > 10, --max-new-tokens >= 1");
            for (double f : fractions) if (!(f > 0) || f > 4) throw new IllegalArgumentException("--fractions must be in (0, 4], got " + f);
            if (replot) {
                dev.hmem.cli.bench.CliffBench.replot(plots);
                return 0;
            }
            Path home = dev.hmem.cli.cluster.ClusterCommand.home();
            System.out.println(new dev.hmem.cli.bench.CliffBench(new dev.hmem.cli.bench.CliffBench.Options(work,
                    home.resolve("jobs/target/hmem-job.jar"), home.resolve("cluster/target/flink"), home.resolve("deploy"), zipf, fractions,
                    rate, maxNewTokens, step, tmMemory, seed, report, plots)).run());
            return 0;
        }
    }

    @Command(name = "operations", mixinStandardHelpOptions = true,
            description = {"Live operations on the demo model through the running job (in-process Flink and broker, about 15",
                    "minutes): blocking a subtree, streaming TTFT and inter-token latency at 10% and 80% of capacity, ten swaps."})
    static final class Operations implements Callable<Integer> {
        @Option(names = "--model-dir", description = "the demo model (trained on first use)") Path demo = dev.hmem.cli.demo.DemoModel.defaultDir();
        @Option(names = "--work-dir") Path work = Path.of(System.getProperty("java.io.tmpdir"), "hmem-ops-bench");
        @Option(names = "--step-seconds", defaultValue = "40") double step;
        @Option(names = "--out", defaultValue = "docs/bench/operations.md") Path out;
        @Option(names = "--report", defaultValue = "docs/BENCHMARKS.md") Path report;

        @Override
        public Integer call() throws Exception {
            System.out.println(new dev.hmem.cli.bench.OperationsBench(new dev.hmem.cli.bench.OperationsBench.Options(demo, work, step, out, report)).run());
            return 0;
        }
    }
}
