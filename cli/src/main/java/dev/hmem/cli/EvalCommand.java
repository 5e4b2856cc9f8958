package dev.hmem.cli;

import dev.hmem.cli.bench.BenchReport;
import dev.hmem.model.eval.Evaluator;
import dev.hmem.model.eval.ResultsReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Long-tail evaluation of a trained run → docs/RESULTS.md and a PNG plot. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Fact accuracy by training frequency and held-out perplexity under memory conditions.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--run", required = true, description = "a run directory of `hmem train`") Path run;
    @Option(names = "--dense", description = "run directory of the dense baseline (`hmem train --dense`)") Path dense;
    @Option(names = "--report", defaultValue = "docs/RESULTS.md") Path report;
    @Option(names = "--plot", defaultValue = "docs/results.png") Path plot;
    @Option(names = "--note", description = "text placed above the table (how the run was made)") String note;

    @Override
    public Integer call() throws Exception {
        List<Evaluator.ConditionResult> results = new ArrayList<>();
        int probes;
        try (Evaluator e = new Evaluator(run, System.err)) {
            probes = e.probeCount();
            results.addAll(e.evaluateAll());
            if (dense != null) results.add(e.evaluateDense(dense, "dense model (no memory)"));
        }
        String table = ResultsReport.table(results);
        ResultsReport.plot(results, plot, "Fact accuracy by training frequency (" + probes + " facts)");
        StringBuilder md = new StringBuilder("## Long-tail evaluation\n\n");
        md.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        if (note != null) md.append(note).append("\n\n");
        md.append(table).append("\n![accuracy by frequency](").append(plot.getFileName()).append(")\n");
        BenchReport.writeSection(report, "eval", md.toString());
        System.out.println(table);
        if (!Files.exists(plot)) return 1;
        return 0;
    }
}
