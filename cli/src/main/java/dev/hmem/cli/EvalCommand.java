package dev.hmem.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.hmem.cli.bench.BenchReport;
import dev.hmem.cli.report.ResultsReport;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.training.eval.Evaluator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Long-tail evaluation of a trained run (and its dense baseline) → docs/RESULTS.md and a PNG plot. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Fact accuracy by training frequency, routing accuracy and held-out perplexity under memory conditions.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--run", description = "a run directory of `hmem train`") Path run;
    @Option(names = "--scaling", split = ",", description = "run directories of the scaling study (paper-flat, paper-s, -m, -l):"
            + " fetched-memory accuracy against bank size, flat against deeper") List<Path> scaling = new ArrayList<>();
    @Option(names = "--dense", description = "run directory of the dense baseline (`hmem train --dense`)") Path dense;
    @Option(names = "--report", defaultValue = "docs/RESULTS.md") Path report;
    @Option(names = "--section", defaultValue = "eval", description = "the report section to (re)write") String section;
    @Option(names = "--plot", defaultValue = "docs/results.png") Path plot;
    @Option(names = "--note", description = "text placed above the table (how the run was made)") String note;

    @Override
    public Integer call() throws Exception {
        if (!scaling.isEmpty()) return scalingStudy();
        if (run == null) throw new IllegalArgumentException("give --run (or --scaling)");
        List<Evaluator.ConditionResult> results = new ArrayList<>();
        int probes;
        Evaluator.Routing routing;
        try (Evaluator e = new Evaluator(run, System.err)) {
            probes = e.probeCount();
            routing = e.routing();
            results.addAll(e.evaluateAll());
            if (dense != null) results.add(e.evaluateDense(dense, "dense model (no memory)"));
        }
        String table = ResultsReport.table(results);
        ResultsReport.plot(results, plot, "Fact accuracy by training frequency (" + probes + " facts)");
        StringBuilder md = new StringBuilder("## Long-tail evaluation\n\n");
        md.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        if (note != null) md.append(note).append("\n\n");
        md.append(describe(run, dense, routing, probes)).append('\n');
        md.append(table).append("\n![accuracy by frequency](").append(plot.getFileName()).append(")\n");
        BenchReport.writeSection(report, section, md.toString());
        System.out.println(md);
        return Files.exists(plot) ? 0 : 1;
    }

    /** One run of the scaling study, evaluated. */
    record Point(String name, Path run, double bankParams, double fetchedParams, int leaves, int depth, double tail, double all,
                 double anchorTail, double anchorAll, double routing, double perplexity, int steps, double pflop,
                 double oracleTail, double oracleAll) {}

    private int scalingStudy() throws Exception {
        List<Point> points = new ArrayList<>();
        for (Path r : scaling) {
            JsonObject s = stats(r);
            int leaves, depth;
            double bankParams = 0;
            try (MemoryBank b = MemoryBank.open(r.resolve("bank"))) {
                depth = b.tree().depth();
                leaves = (int) b.tree().nodesAt(depth);
                // The blocks of nodes that exist (a bank file has a slot for every k-ary position).
                var a = b.manifest().anchor();
                for (int l = 1; l <= depth; l++) {
                    if (b.manifest().level(l) == null) continue;
                    bankParams += b.tree().nodesAt(l) * 3.0 * b.manifest().level(l).neurons() * a.hiddenSize() * a.numHiddenLayers();
                }
            }
            try (Evaluator e = new Evaluator(r, System.err)) {
                List<Evaluator.ConditionResult> c = e.evaluateMemoryAndAnchor();
                points.add(new Point(s.get("config").getAsString(), r, bankParams,
                        s.get("fetched_parameters").getAsDouble(), leaves, depth, c.get(1).accuracy(1, 3), c.get(1).overall(),
                        c.get(0).accuracy(1, 3), c.get(0).overall(), e.routing().leaf(), c.get(1).perplexity(),
                        s.get("steps").getAsInt(), s.get("train_flops").getAsDouble() / 1e15, c.get(2).accuracy(1, 3), c.get(2).overall()));
            }
        }
        StringBuilder md = new StringBuilder("## Scaling: bank size and depth at a fixed fetched size\n\n");
        md.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        if (note != null) md.append(note).append("\n\n");
        md.append("| run | depth | leaves | bank parameters | fetched parameters | training steps (PFLOP) | facts seen 3–25 (anchor + fetched memory) | all facts | the fact's own leaf fetched, 3–25 / all | anchor alone, 3–25 / all | routing to the fact's leaf | held-out perplexity |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Point p : points) {
            md.append(String.format(Locale.ROOT, "| %s | %d | %d | %.2fM | %.2fM | %d (%.3f) | %.1f%% | %.1f%% | %.1f%% / %.1f%% | %.1f%% / %.1f%% | %.1f%% | %.2f |%n",
                    p.name(), p.depth(), p.leaves(), p.bankParams() / 1e6, p.fetchedParams() / 1e6, p.steps(), p.pflop(), 100 * p.tail(),
                    100 * p.all(), 100 * p.oracleTail(), 100 * p.oracleAll(), 100 * p.anchorTail(), 100 * p.anchorAll(), 100 * p.routing(),
                    p.perplexity()));
        }
        org.knowm.xchart.XYChart c = dev.hmem.cli.report.Charts.xy("Facts known against bank size (fetched size fixed)",
                "bank parameters (millions)", "all facts known (%)");
        List<Point> deep = points.stream().filter(p -> p.depth() > 1).sorted(java.util.Comparator.comparingDouble(Point::bankParams)).toList();
        List<Point> flat = points.stream().filter(p -> p.depth() == 1).toList();
        // Runs form a line when they share the stage-2 length: a bank's size is then what differs.
        Map<Integer, List<Point>> lines = new java.util.TreeMap<>(), flats = new java.util.TreeMap<>();
        for (Point p : deep) lines.computeIfAbsent(memorySteps(p), x -> new ArrayList<>()).add(p);
        for (Point p : flat) flats.computeIfAbsent(memorySteps(p), x -> new ArrayList<>()).add(p);
        // All facts, through the router and with each fact's own leaf: the table has the 3–25 bucket.
        for (boolean own : new boolean[] {false, true}) {
            String label = own ? "the fact's own leaf fetched" : "routed (fetched memory)";
            for (Map.Entry<Integer, List<Point>> l : lines.entrySet()) {
                c.addSeries(String.format(Locale.ROOT, "depth 2, %d memory steps, %s", l.getKey(), label),
                        l.getValue().stream().mapToDouble(p -> p.bankParams() / 1e6).toArray(),
                        l.getValue().stream().mapToDouble(p -> 100 * (own ? p.oracleAll() : p.all())).toArray());
            }
            for (Map.Entry<Integer, List<Point>> f : flats.entrySet()) {
                c.addSeries(String.format(Locale.ROOT, "flat (depth 1), %d memory steps, %s", f.getKey(), label),
                        f.getValue().stream().mapToDouble(p -> p.bankParams() / 1e6).toArray(),
                        f.getValue().stream().mapToDouble(p -> 100 * (own ? p.oracleAll() : p.all())).toArray())
                        .setXYSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Scatter);
            }
        }
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setXAxisDecimalPattern("0.0");
        // Eight series: a legend inside the plot hid points, so it goes below.
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        dev.hmem.cli.report.Charts.save(c, plot);
        md.append("\n![accuracy against bank size](").append(plot.getFileName()).append(")\n");
        BenchReport.writeSection(report, section, md.toString());
        System.out.println(md);
        return 0;
    }

    /** Stage-2 steps of a run: its total less its configuration's stage 1. */
    private static int memorySteps(Point p) {
        return p.steps() - dev.hmem.training.train.TrainConfigs.byName(p.name(), 1).anchorSteps();
    }

    static JsonObject stats(Path runDir) throws Exception {
        return JsonParser.parseString(Files.readString(runDir.resolve("training.json"))).getAsJsonObject();
    }

    /** The runs as their training recorded them: sizes computed from the configuration, compute, routing. */
    static String describe(Path run, Path dense, Evaluator.Routing routing, int probes) throws Exception {
        JsonObject s = stats(run);
        StringBuilder sb = new StringBuilder();
        String k;
        try (MemoryBank b = MemoryBank.open(run.resolve("bank"))) {
            k = String.format(Locale.ROOT, "k=%d, depth %d", b.tree().branching(), b.tree().depth());
        }
        sb.append(String.format(Locale.ROOT, "- **Memory run** (`%s`): anchor %.2fM parameters; bank %.2fM parameters (%s); fetched "
                        + "memory %.2fM parameters (%.0f%% of the anchor); %d steps, %.1fM tokens, %.2f PFLOP of training compute, "
                        + "%.1f min on this machine.%n",
                s.get("config").getAsString(), s.get("parameters").getAsDouble() / 1e6, s.get("bank_parameters").getAsDouble() / 1e6, k,
                s.get("fetched_parameters").getAsDouble() / 1e6,
                100 * s.get("fetched_parameters").getAsDouble() / s.get("parameters").getAsDouble(), s.get("steps").getAsInt(),
                s.get("tokens").getAsDouble() / 1e6, s.get("train_flops").getAsDouble() / 1e15, s.get("seconds").getAsDouble() / 60));
        if (dense != null) {
            JsonObject d = stats(dense);
            sb.append(String.format(Locale.ROOT, "- **Dense baseline**: %.2fM parameters (%.2f× the anchor), no memory; %d steps, %.1fM tokens, "
                            + "%.2f PFLOP (%.0f%% of the memory run's), %.1f min.%n", d.get("parameters").getAsDouble() / 1e6,
                    d.get("parameters").getAsDouble() / s.get("parameters").getAsDouble(), d.get("steps").getAsInt(),
                    d.get("tokens").getAsDouble() / 1e6, d.get("train_flops").getAsDouble() / 1e15,
                    100 * d.get("train_flops").getAsDouble() / s.get("train_flops").getAsDouble(), d.get("seconds").getAsDouble() / 60));
        }
        sb.append(String.format(Locale.ROOT, "- **Routing**: %.1f%% of the %d fact probes reach the leaf their fact's articles trained "
                + "(%.1f%% its level-1 cluster).%n", 100 * routing.leaf(), probes, 100 * routing.level1()));
        return sb.toString();
    }
}
