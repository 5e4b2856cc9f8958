package dev.hmem.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code hmem} command line: one jar for generation, banks, training, serving and benchmarks. */
@Command(name = "hmem", mixinStandardHelpOptions = true, version = "hmem 0.1.0",
        description = "Memory-augmented small language models, served on Apache Flink.",
        subcommands = {dev.hmem.cli.demo.DemoCommand.class, GenerateCommand.class, RouteCommand.class, BankCommand.class, SizeCommand.class,
                ModelCommand.class, TrainCommand.class, EvalCommand.class, LoadGenCommand.class, LoadTestCommand.class,
                dev.hmem.cli.cluster.ClusterCommand.class, dev.hmem.cli.control.SwapCommand.class,
                dev.hmem.cli.control.BlockCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command and returns its exit code; errors print as one clear line, not a stack trace. */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("hmem: " + describe(ex));
            if (System.getenv("HMEM_DEBUG") != null) ex.printStackTrace(line.getErr());
            return 2;
        });
        return cl.execute(args);
    }

    static String describe(Throwable ex) {
        String msg = ex.getMessage();
        if (msg == null || msg.isBlank()) msg = ex.getClass().getSimpleName();
        if (ex instanceof java.nio.file.NoSuchFileException) msg = "no such file: " + msg;
        return msg;
    }
}
