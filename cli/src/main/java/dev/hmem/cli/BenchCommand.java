package dev.hmem.cli;

import dev.hmem.cli.bench.DecodeBench;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Benchmarks that write their figures into docs/BENCHMARKS.md. */
@Command(name = "bench", description = "Run a benchmark and write its section of docs/BENCHMARKS.md.",
        subcommands = {BenchCommand.Decode.class, BenchCommand.Serve.class})
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

        @Override
        public Integer call() throws Exception {
            Torch.threads(threads);
            String md = new DecodeBench(new DecodeBench.Options(batches, steps, rounds, promptTokens, threads, bankDir, report)).run();
            System.out.println(md);
            return 0;
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Streaming job vs offline generator, full design vs naive, cache hit rate vs budget.")
    static final class Serve implements Callable<Integer> {
        @Option(names = "--prompts", defaultValue = "256") int prompts;
        @Option(names = "--max-new-tokens", defaultValue = "32") int maxNewTokens;
        @Option(names = "--zipf", defaultValue = "1.0") double zipf;
        @Option(names = "--cache-mb", defaultValue = "256") long cacheMb;
        @Option(names = "--work-dir", description = "model, bank and scratch space")
        Path work = Path.of(System.getProperty("user.home"), ".cache", "hmem", "serve-bench");
        @Option(names = "--report", defaultValue = "docs/BENCHMARKS.md") Path report;

        @Override
        public Integer call() throws Exception {
            String md = new dev.hmem.cli.bench.ServeBench(new dev.hmem.cli.bench.ServeBench.Options(work, prompts,
                    maxNewTokens, zipf, cacheMb, report)).run();
            System.out.println(md);
            return 0;
        }
    }
}
