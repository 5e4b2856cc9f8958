package dev.hmem.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.hmem.cli.bench.BenchReport;
import dev.hmem.cli.report.CurveReport;
import dev.hmem.cli.report.ResultsReport;
import dev.hmem.cli.report.SeedTable;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.training.eval.EvalSplit;
import dev.hmem.training.eval.Evaluator;
import dev.hmem.training.train.DenseBaseline;
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
    @Option(names = "--run", split = ",", description = "memory run directories of `hmem train`, one per seed (comma-separated):"
            + " the table gives each figure's mean and range over them") List<Path> runs = new ArrayList<>();
    @Option(names = "--scaling", split = ",", description = "run directories of the scaling study (paper-flat, paper-s, -m, -l):"
            + " fetched-memory accuracy against bank size, flat against deeper") List<Path> scaling = new ArrayList<>();
    @Option(names = "--dense", split = ",", description = "a baseline's run directories (`hmem train --dense` or --widened),"
            + " one per memory run in the same order") List<Path> dense = new ArrayList<>();
    @Option(names = "--baseline", description = "another baseline row, as --dense (repeatable)") List<String> baselines = new ArrayList<>();
    @Option(names = "--split", defaultValue = "test", description = "fact probes and held-out paragraphs to score: test (reported),"
            + " dev (design choices and sweeps are made on it) or all") String split;
    @Option(names = "--curve", split = ",", description = "runs trained with --snapshot-every: facts and perplexity against training"
            + " tokens and FLOPs, from each snapshot") List<Path> curves = new ArrayList<>();
    @Option(names = "--report", defaultValue = "docs/RESULTS.md") Path report;
    @Option(names = "--section", defaultValue = "eval", description = "the report section to (re)write") String section;
    @Option(names = "--plot", defaultValue = "docs/results.png") Path plot;
    @Option(names = "--note", description = "text placed above the table (how the runs were made)") String note;

    @Override
    public Integer call() throws Exception {
        if (!scaling.isEmpty()) return scalingStudy();
        EvalSplit sp = EvalSplit.parse(split);
        if (!curves.isEmpty()) return curves(sp);
        if (runs.isEmpty()) throw new IllegalArgumentException("give --run (or --scaling, or --curve)");
        List<List<Path>> base = new ArrayList<>();
        if (!dense.isEmpty()) base.add(dense);
        for (String b : baselines) base.add(java.util.Arrays.stream(b.split(",")).map(String::trim).map(Path::of).toList());
        for (List<Path> b : base) {
            if (b.size() != runs.size()) {
                throw new IllegalArgumentException("a baseline needs one run per memory run (" + runs.size() + "), got " + b.size() + ": " + b);
            }
            for (int i = 0; i < b.size(); i++) DenseBaseline.requireSameData(runs.get(i), b.get(i));
        }
        List<List<Evaluator.ConditionResult>> perSeed = new ArrayList<>();
        List<Evaluator.Routing> routings = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            System.err.printf(Locale.ROOT, "[eval] memory run %d/%d: %s (%s split)%n", i + 1, runs.size(), runs.get(i), sp);
            List<Evaluator.ConditionResult> results = new ArrayList<>();
            try (Evaluator e = new Evaluator(runs.get(i), sp, System.err)) {
                routings.add(e.routing());
                results.addAll(e.evaluateAll());
                for (List<Path> b : base) results.add(e.evaluateDense(b.get(i), baselineLabel(b.get(i))));
            }
            perSeed.add(results);
        }
        List<SeedTable.Row> rows = new ArrayList<>();
        for (int c = 0; c < perSeed.get(0).size(); c++) {
            List<Evaluator.ConditionResult> seeds = new ArrayList<>();
            for (List<Evaluator.ConditionResult> r : perSeed) seeds.add(r.get(c));
            rows.add(new SeedTable.Row(perSeed.get(0).get(c).name(), seeds));
        }
        int probes = java.util.Arrays.stream(perSeed.get(0).get(0).total()).sum();
        SeedTable.plot(rows, plot, "Fact accuracy by training frequency (" + sp.name().toLowerCase(Locale.ROOT) + " split, "
                + runs.size() + (runs.size() == 1 ? " seed)" : " seeds pooled)"));
        StringBuilder md = new StringBuilder("## Long-tail evaluation\n\n");
        md.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        if (note != null) md.append(note).append("\n\n");
        md.append(describe(runs, base, routings, probes, sp)).append('\n');
        md.append(SeedTable.table(rows)).append('\n');
        md.append("Per exposure bucket (facts pooled over the seeds; each model bucketed by its own training's exposures):\n\n");
        md.append(SeedTable.bucketTable(rows)).append("\n![accuracy by frequency](").append(plot.getFileName()).append(")\n");
        if (perSeed.size() > 1) {
            for (int i = 0; i < perSeed.size(); i++) {
                md.append("\n<details><summary>seed ").append(stats(runs.get(i)).get("seed").getAsLong()).append(" (")
                        .append(runs.get(i).getFileName()).append(")</summary>\n\n").append(ResultsReport.table(perSeed.get(i)))
                        .append("\n</details>\n");
            }
        }
        BenchReport.writeSection(report, section, md.toString());
        System.out.println(md);
        return Files.exists(plot) ? 0 : 1;
    }

    /** A baseline's row name: what its training recorded ("dense 2.14×, same tokens"), or the old generic name. */
    static String baselineLabel(Path run) throws Exception {
        JsonObject s = stats(run);
        return s.has("baseline") ? s.get("baseline").getAsString() : "dense model (no memory)";
    }

    /**
     * Facts known and held-out perplexity at each snapshot of each run (anchor + fetched memory for
     * a memory run, the model alone for a baseline), against training tokens and FLOPs.
     */
    private int curves(EvalSplit sp) throws Exception {
        List<CurveReport.Series> series = new ArrayList<>();
        for (Path run : curves) {
            List<Path> points = new ArrayList<>();
            Path snaps = run.resolve("snapshots");
            if (Files.isDirectory(snaps)) {
                try (var s = Files.list(snaps)) {
                    points.addAll(s.filter(Files::isDirectory).sorted().toList());
                }
            }
            if (points.isEmpty()) throw new IllegalArgumentException(run + " has no snapshots: train it with --snapshot-every N");
            JsonObject last = stats(points.get(points.size() - 1));
            if (Files.exists(run.resolve("training.json")) && stats(run).get("steps").getAsLong() != last.get("steps").getAsLong()) {
                points.add(run);
            }
            JsonObject rs = stats(run);
            boolean memory = rs.has("bank_parameters");
            String name = (memory ? "anchor + fetched memory" : baselineLabel(run)) + ", seed " + rs.get("seed").getAsLong();
            List<CurveReport.Point> pts = new ArrayList<>();
            for (Path p : points) {
                System.err.printf(Locale.ROOT, "[curve] %s: %s%n", name, p);
                JsonObject ps = stats(p);
                Evaluator.ConditionResult r;
                if (memory) {
                    try (Evaluator e = new Evaluator(p, sp, System.err)) {
                        r = e.evaluateMemoryAndAnchor().get(1);
                    }
                } else {
                    try (Evaluator e = new Evaluator(Path.of(rs.get("memory_run").getAsString()), sp, System.err)) {
                        r = e.evaluateDense(p, name);
                    }
                }
                pts.add(new CurveReport.Point(ps.get("steps").getAsLong(), ps.get("tokens").getAsLong(),
                        ps.get("train_flops").getAsDouble(), r.overall(), r.accuracy(1, 3), r.perplexity()));
            }
            series.add(new CurveReport.Series(name, pts));
        }
        StringBuilder md = new StringBuilder("## Learning curves\n\n");
        md.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        if (note != null) md.append(note).append("\n\n");
        md.append(CurveReport.table(series));
        for (String png : CurveReport.plots(series, plot)) md.append("\n![curve](").append(png).append(")\n");
        BenchReport.writeSection(report, section, md.toString());
        System.out.println(md);
        return 0;
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

    /** The runs as their training recorded them: sizes, tokens, compute, time (means over seeds), routing. */
    static String describe(List<Path> runs, List<List<Path>> baselines, List<Evaluator.Routing> routings, int probes, EvalSplit sp)
            throws Exception {
        JsonObject s = stats(runs.get(0));
        StringBuilder sb = new StringBuilder();
        String k;
        try (MemoryBank b = MemoryBank.open(runs.get(0).resolve("bank"))) {
            k = String.format(Locale.ROOT, "k=%d, depth %d", b.tree().branching(), b.tree().depth());
        }
        List<String> seeds = new ArrayList<>();
        double memFlops = 0;
        for (Path r : runs) {
            JsonObject rs = stats(r);
            seeds.add(String.valueOf(rs.get("seed").getAsLong()));
            memFlops += rs.get("train_flops").getAsDouble() / runs.size();
        }
        sb.append(String.format(Locale.ROOT, "- **Memory runs** (`%s`, seeds %s): anchor %.2fM parameters; bank %.2fM parameters (%s); fetched "
                        + "memory %.2fM parameters (%.0f%% of the anchor); %d steps, %.2fM tokens, %.3f PFLOP of training compute, "
                        + "%s min on this machine.%n",
                s.get("config").getAsString(), String.join(", ", seeds), s.get("parameters").getAsDouble() / 1e6,
                s.get("bank_parameters").getAsDouble() / 1e6, k, s.get("fetched_parameters").getAsDouble() / 1e6,
                100 * s.get("fetched_parameters").getAsDouble() / s.get("parameters").getAsDouble(), s.get("steps").getAsInt(),
                s.get("tokens").getAsDouble() / 1e6, memFlops / 1e15, minutes(runs)));
        for (List<Path> b : baselines) {
            JsonObject d = stats(b.get(0));
            sb.append(String.format(Locale.ROOT, "- **%s**: %.2fM parameters (%.2f× the anchor), no routed memory; %d steps, %.2fM tokens, "
                            + "%.3f PFLOP (%.0f%% of the memory runs'), peak LR %s, %s min.%n", baselineLabel(b.get(0)),
                    d.get("parameters").getAsDouble() / 1e6, d.get("parameters").getAsDouble() / s.get("parameters").getAsDouble(),
                    d.get("steps").getAsInt(), d.get("tokens").getAsDouble() / 1e6, d.get("train_flops").getAsDouble() / 1e15,
                    100 * d.get("train_flops").getAsDouble() / memFlops, d.has("peak_lr") ? d.get("peak_lr").getAsString() : "0.003",
                    minutes(b)));
        }
        double leaf = routings.stream().mapToDouble(Evaluator.Routing::leaf).average().orElseThrow();
        double top = routings.stream().mapToDouble(Evaluator.Routing::level1).average().orElseThrow();
        sb.append(String.format(Locale.ROOT, "- **Scored on** the %s split: %d fact probes and %s of the held-out paragraphs"
                + " (EvalSplit: even ids dev, odd ids test). **Routing**: %.1f%% of them reach the leaf their fact's articles trained"
                + " (%.1f%% its level-1 cluster), mean over seeds.%n", sp.name().toLowerCase(Locale.ROOT), probes,
                sp == EvalSplit.ALL ? "all" : "half", 100 * leaf, 100 * top));
        return sb.toString();
    }

    /** Training minutes of runs: "6.1" for one, "6.1 (5.9–6.4)" for several. */
    static String minutes(List<Path> runs) throws Exception {
        double[] m = new double[runs.size()];
        for (int i = 0; i < m.length; i++) m[i] = stats(runs.get(i)).get("seconds").getAsDouble() / 60;
        double mean = java.util.Arrays.stream(m).average().orElseThrow();
        if (m.length == 1) return String.format(Locale.ROOT, "%.1f", mean);
        return String.format(Locale.ROOT, "%.1f (%.1f–%.1f)", mean, java.util.Arrays.stream(m).min().orElseThrow(),
                java.util.Arrays.stream(m).max().orElseThrow());
    }
}
