package dev.hmem.cli.bench;

import dev.hmem.cli.cluster.ClusterJobs;
import dev.hmem.cli.cluster.LocalCluster;
import dev.hmem.cli.loadtest.LoadTest;
import dev.hmem.cli.loadtest.Slo;
import dev.hmem.cli.loadtest.StepStats;
import dev.hmem.cli.loadtest.Workload;
import dev.hmem.cli.report.Charts;
import dev.hmem.cli.sizing.BankShape;
import dev.hmem.cli.sizing.CachePolicy;
import dev.hmem.cli.sizing.CapacityModel;
import dev.hmem.cli.sizing.LeafPopularity;
import dev.hmem.cli.sizing.Placement;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.io.DType;
import dev.hmem.training.bank.RandomBank;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The working-set cliff at the paper's tree on the local multi-process cluster (2 TaskManagers): a bank with the
 * paper's k=16, r = 256/64/16 tree (16 + 256 + 4,096 blocks) for the reference anchor, requests on leaves drawn
 * Zipf over all 4,096 leaves (forced {@code memory_path}: a random tree is reached by few prompts) at a fixed rate,
 * and per block-cache budget (a fresh job each) and exponent: hit rate per level, output tokens/s and TTFT p99 beside
 * the capacity model's prediction for the same law, budget and placement — and each TaskManager's resident memory and
 * each subtask's block bytes in memory, sampled through the run, against their bounds.
 *
 * <p>The anchor is the reference (8 layers) rather than the paper's 35 so that a budget of 100% of a subtask's deep
 * working set fits two TaskManagers on this machine; a hit rate depends on the budget's share of the working set, not
 * on the blocks' size (the capacity model's bench shrinks blocks for the same reason), and the paper anchor's fetch
 * times are measured by {@code bench fetch}.
 */
public final class CliffBench {

    static final int[] NEURONS = {256, 64, 16};

    public record Options(Path work, Path jobJar, Path flinkHome, Path deployDir, double[] zipf, double[] fractions, double rate,
                          int maxNewTokens, double stepSeconds, int tmMemoryMb, long seed, Path report, Path plots) {}

    /** One measured point: the second of two equal steps on a job, its prediction and the share of first uses. */
    record Point(double fraction, long budgetMb, double zipf, StepStats step, double[] predicted, double[] run) {
        double firstUseL2() { return run[0]; }
        double firstUseL3() { return run[1]; }
        /** The model's prediction for this run: a block hits only once the job has been asked for it. */
        double runL2() { return run[2]; }
        double runL3() { return run[3]; }
    }

    private final Options o;

    public CliffBench(Options o) {
        this.o = o;
    }

    Path bank() {
        return o.work().resolve("paper-tree-bank");
    }

    public String run() throws Exception {
        BenchModel.ensure(o.work());
        Path model = BenchModel.model(o.work());
        if (!Files.exists(bank().resolve(BankManifest.FILE))) {
            BankManifest.Anchor anchor;
            try (MemoryBank ref = MemoryBank.open(BenchModel.bank(o.work()))) {
                anchor = ref.manifest().anchor();
            }
            System.err.println("building the paper-tree bank for the reference anchor (bf16, ~2.1 GB) ...");
            RandomBank.create(bank(), anchor, 16, 3, NEURONS, 0, DType.BF16, false, o.seed());
        }
        BankShape shape;
        try (MemoryBank b = MemoryBank.open(bank())) {
            shape = BankShape.of(b.manifest());
        }
        int subtasks = 2;
        long deepPerSubtask = shape.levelBytes(2, 3) / subtasks;
        List<String> leaves = new ArrayList<>(shape.leaves());
        for (int i = 0; i < shape.leaves(); i++) leaves.add(MemoryPath.fromNodeIndex(i, shape.depth(), shape.branching()).toString());
        List<String> prompts = BenchModel.prompts(500);
        Files.createDirectories(o.plots());

        ClusterBench jobs0 = new ClusterBench(new ClusterBench.Options(o.work(), model, bank(), o.jobJar(), o.flinkHome(), o.deployDir(),
                o.maxNewTokens(), o.stepSeconds(), 5, 0, o.report(), o.plots()));
        List<Point> points = new ArrayList<>();
        Map<Long, MemoryRow> memory = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        int done = 0, total = o.fractions().length * o.zipf().length;
        LocalCluster c = LocalCluster.at(o.work().resolve("cluster-cliff"));
        c.up(new LocalCluster.Options(o.flinkHome(), o.deployDir(), 2, 1, o.tmMemoryMb(), 0, Map.of()));
        try {
            ClusterJobs jobs = new ClusterJobs(c, o.jobJar());
            for (double f : o.fractions()) {
                long mb = Math.max(1, (long) Math.ceil(f * deepPerSubtask / (1 << 20)));
                String name = "cliff-" + mb;
                String id = jobs.submit(jobs0.job(c, name, ClusterBench.full((int) mb)), null);
                jobs.awaitRunning(id, Duration.ofMinutes(3));
                Map<String, Long> tms = new LinkedHashMap<>();
                c.livePids().forEach((n, pid) -> { if (n.startsWith("taskmanager")) tms.put(n, pid); });
                Set<String> seen = new HashSet<>(), seenL2 = new HashSet<>();
                try (MemoryWatch watch = new MemoryWatch(tms, c.rest().address(), id, 1000)) {
                    for (double s : o.zipf()) {
                        LeafPopularity law = LeafPopularity.zipf(shape, s, o.seed());
                        List<long[]> picks = new ArrayList<>();  // (millis, leaf index)
                        Map<String, Integer> index = new LinkedHashMap<>();
                        for (int i = 0; i < leaves.size(); i++) index.put(leaves.get(i), i);
                        Workload w = new Workload(leaves, law.nodes(shape.depth()), prompts, o.rate(), 1, o.seed() + done)
                                .observe(p -> { synchronized (picks) { picks.add(new long[] {System.currentTimeMillis(), index.get(p.cluster())}); } });
                        LoadTest.Run r = LoadTest.run(new LoadTest.Options(c.bootstrapServers(), Map.of(), name + "-prompts", name + "-results",
                                List.of(o.rate(), o.rate()), List.of(), false, o.stepSeconds(), 5, 20, o.maxNewTokens(),
                                Slo.parse("ttft=1000,tpot=200,e2e=5000"), c.rest().address(), id,
                                o.plots().resolve("cliff").resolve(name + "-zipf" + s), name, Map.of()), w);
                        Placement placement = Placement.affinity(law, subtasks, 200_000, o.seed());
                        CapacityModel.Prediction pr = CapacityModel.predict(law, placement, mb << 20, 1, CachePolicy.TINY_LFU);
                        double[] run = warming(picks, shape, pr, seen, seenL2, o.stepSeconds() - 5);
                        points.add(new Point(f, mb, s, r.steps().get(r.steps().size() - 1), pr.hit(), run));
                        done++;
                        double el = (System.nanoTime() - t0) / 1e9;
                        System.err.printf(Locale.ROOT, "[cliff] %d/%d points, %.0f s elapsed, ETA %.0f s%n", done, total, el, el / done * (total - done));
                    }
                    memory.put(mb, new MemoryRow(watch.maxRss(), watch.maxLiveBlockBytes(), watch.samples()));
                }
                c.rest().cancel(id);
            }
        } finally {
            c.down();
        }
        String md = report(shape, deepPerSubtask, points, memory, (System.nanoTime() - t0) / 1e9);
        if (o.report() != null) BenchReport.writeSection(o.report(), "cliff", md);
        return md;
    }

    /** Draws the plot again from the points a run wrote under {@code plots}. */
    public static void replot(Path plots) throws java.io.IOException {
        Path csv = plots.resolve("cliff").resolve("l3-points.csv");
        if (!Files.exists(csv)) throw new IllegalArgumentException("no points at " + csv + ": run ./hmem bench cliff first");
        plot(readRows(csv), plots.resolve("cliff-paper-tree.png"));
    }

    record MemoryRow(Map<String, Long> maxRss, Map<Integer, Long> maxLive, int samples) {}

    /**
     * Over the measured step's requests (those of the last {@code measuredSeconds} of picks): the shares whose level-2
     * node and whose leaf the job had never been asked for before (misses no budget avoids, which the steady-state model
     * leaves out), and the model's prediction for this run — each request's steady-state chance of a hit for its node,
     * counted only if the node was asked for before. Counted over the job, not per subtask: with hierarchy-aware
     * placement a leaf's prompts go to one subtask but for spill-over. {@code seen} carries over between exponents.
     */
    static double[] warming(List<long[]> picks, BankShape shape, CapacityModel.Prediction pr, Set<String> seen, Set<String> seenL2,
                            double measuredSeconds) {
        double[] out = new double[4];
        if (picks.isEmpty()) {
            java.util.Arrays.fill(out, Double.NaN);
            return out;
        }
        long from = picks.get(picks.size() - 1)[0] - (long) (measuredSeconds * 1000);
        int n = 0, perL2 = shape.leaves() / shape.nodes(2);
        for (long[] p : picks) {
            int leaf = (int) p[1];
            boolean freshL3 = seen.add(Integer.toString(leaf)), freshL2 = seenL2.add(Integer.toString(leaf / perL2));
            if (p[0] < from) continue;
            n++;
            if (freshL2) out[0]++;
            else out[2] += pr.leafHit(2, leaf, shape);
            if (freshL3) out[1]++;
            else out[3] += pr.leafHit(3, leaf, shape);
        }
        for (int i = 0; i < 4; i++) out[i] = n == 0 ? Double.NaN : out[i] / n;
        return out;
    }

    private String report(BankShape shape, long deepPerSubtask, List<Point> points, Map<Long, MemoryRow> memory, double seconds) throws Exception {
        StringBuilder md = new StringBuilder("## The working-set cliff at the paper's tree, on the cluster\n\n");
        md.append(String.format(Locale.ROOT, "%s. `./hmem bench cliff` (%.0f minutes here). The local multi-process cluster: a broker, a JobManager and "
                        + "2 TaskManagers of %,d MiB, each its own process; 2 generate subtasks x 1 thread, `--max-batch 32`, level 1 pinned, "
                        + "hierarchy-aware placement. Bank: the paper's tree (k=16, r=256/64/16: 16 + 256 + 4,096 blocks) for the 31.5M reference "
                        + "anchor (8 layers, d 512), blocks of %.1f / %.2f / %.3f MiB as the cache holds them (f32); a subtask's deep working set "
                        + "(levels 2-3, half the bank) is %,d MiB. Requests: leaves drawn Zipf over all 4,096 leaves (ranks dealt at random, seed %d; "
                        + "sent as `memory_path`), Poisson at %.1f requests/s, %d new tokens. A fresh job per budget; per exponent two steps of %.0f s "
                        + "on it, the second measured (its first 5 s excluded); exponents in the order given, so a later one meets the cache the "
                        + "earlier left. Predicted: the capacity model (`./hmem size`) for the same law, budget and placement, steady state.%n%n",
                BenchReport.machine(), seconds / 60, o.tmMemoryMb(), shape.blockBytes()[0] / 1048576.0, shape.blockBytes()[1] / 1048576.0,
                shape.blockBytes()[2] / 1048576.0, deepPerSubtask >> 20, o.seed(), o.rate(), o.maxNewTokens(), o.stepSeconds()));
        md.append("| Zipf | budget per subtask | share of deep working set | L2 steady state | L2 this run | L2 measured | L3 steady state | L3 this run "
                + "| L3 measured | L3 first use | output tok/s | TTFT p50 / p99 ms | achieved req/s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        double worst = 0, worstSteady = 0;
        for (double s : o.zipf()) {
            for (Point p : points) {
                if (p.zipf() != s) continue;
                StepStats st = p.step();
                double m2 = level(st, "2"), m3 = level(st, "3");
                md.append(String.format(Locale.ROOT, "| %.1f | %,d MiB | %.0f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f | %.0f / %.0f | %.2f |%n",
                        s, p.budgetMb(), 100 * p.fraction(), 100 * p.predicted()[1], 100 * p.runL2(), 100 * m2, 100 * p.predicted()[2], 100 * p.runL3(),
                        100 * m3, 100 * p.firstUseL3(), st.outputTokensPerSecond(), st.latency().get("ttft").p50(), st.latency().get("ttft").p99(),
                        st.achievedRate()));
                worst = Math.max(worst, Math.max(Math.abs(p.runL2() - m2), Math.abs(p.runL3() - m3)));
                worstSteady = Math.max(worstSteady, Math.max(Math.abs(p.predicted()[1] - m2), Math.abs(p.predicted()[2] - m3)));
            }
        }
        md.append(String.format(Locale.ROOT, "%nLargest gap between the model's prediction for this run and the measured hit rate: **%.1f points** "
                + "(against the steady state: %.1f points). \"Steady state\": the capacity model as `./hmem size` gives it, for a cache that has "
                + "seen the law for long. \"This run\": the same model per request — its node's steady-state chance of a hit, counted only if the "
                + "job had been asked for that node before (a run of minutes at a few requests per second has not met most of 4,096 leaves: "
                + "\"L3 first use\" is the share of measured requests on a leaf new to the job, misses no budget avoids). Counted job-wide.%n%n",
                100 * worst, 100 * worstSteady));
        md.append("Memory sampled once a second through each job (a sample is a moment; the bound itself is asserted by `BlockCacheTest`):\n\n"
                + "| budget per subtask | evictable block bytes in memory, largest sample per subtask (bound: the budget, plus at an instant the blocks between their read and their place in the cache, one per loader thread: 2 × 3 MiB here) | TaskManager RSS, largest sample "
                + "(process size " + String.format(Locale.ROOT, "%,d", o.tmMemoryMb()) + " MiB) | samples |\n|---|---|---|---|\n");
        for (Map.Entry<Long, MemoryRow> e : memory.entrySet()) {
            StringBuilder live = new StringBuilder(), rss = new StringBuilder();
            e.getValue().maxLive().forEach((s, v) -> live.append(live.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "subtask %d: %,d MiB", s, v >> 20)));
            e.getValue().maxRss().forEach((n, v) -> rss.append(rss.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s: %,d MiB", n, v >> 20)));
            md.append(String.format(Locale.ROOT, "| %,d MiB | %s | %s | %d |%n", e.getKey(), live, rss, e.getValue().samples()));
        }
        List<double[]> rows = new ArrayList<>();
        for (Point p : points) rows.add(new double[] {p.zipf(), 100 * p.fraction(), 100 * p.predicted()[2], 100 * p.runL3(), 100 * level(p.step(), "3")});
        writeRows(o.plots().resolve("cliff").resolve("l3-points.csv"), rows);
        plot(rows, o.plots().resolve("cliff-paper-tree.png"));
        md.append("\n![the working-set cliff at the paper's tree](bench/cliff-paper-tree.png)\n\n");
        md.append("Reproduce: `./hmem bench cliff` (builds the 2.1 GB bank under ~/.cache/hmem/bench on first use). Per-step tables and "
                + "per-request CSVs are under `docs/bench/cliff/`.\n");
        return md.toString();
    }

    static final String[] COLUMNS = {"zipf", "budget_share_pct", "l3_steady_state_pct", "l3_this_run_pct", "l3_measured_pct"};

    /** The level-3 points as CSV (one row per budget and exponent), so the plot can be drawn again without a rerun. */
    static void writeRows(Path file, List<double[]> rows) throws java.io.IOException {
        Files.createDirectories(file.getParent());
        try (var w = Files.newBufferedWriter(file);
             var csv = org.apache.commons.csv.CSVFormat.RFC4180.builder().setHeader(COLUMNS).get().print(w)) {
            for (double[] r : rows) csv.printRecord(java.util.Arrays.stream(r).boxed().toArray());
        }
    }

    static List<double[]> readRows(Path file) throws java.io.IOException {
        List<double[]> out = new ArrayList<>();
        try (var r = Files.newBufferedReader(file);
             var csv = org.apache.commons.csv.CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(r)) {
            for (var rec : csv) {
                double[] row = new double[COLUMNS.length];
                for (int i = 0; i < row.length; i++) row[i] = Double.parseDouble(rec.get(COLUMNS[i]));
                out.add(row);
            }
        }
        return out;
    }

    /**
     * Level-3 hit rate against the budget per exponent: measured (markers), the model's prediction for the run (solid)
     * and its steady state (dashed), which a run of minutes does not reach.
     */
    static void plot(List<double[]> rows, Path png) throws java.io.IOException {
        XYChart chart = Charts.xy("Level-3 hit rate against the budget", "budget, share of a subtask's deep working set (%)", "level-3 hit rate (%)");
        java.awt.Color[] colors = {new java.awt.Color(0x1f77b4), new java.awt.Color(0xd62728), new java.awt.Color(0x2ca02c), new java.awt.Color(0x9467bd)};
        int k = 0;
        for (double s : rows.stream().mapToDouble(r -> r[0]).distinct().toArray()) {
            java.awt.Color color = colors[k++ % colors.length];
            List<double[]> ps = rows.stream().filter(r -> r[0] == s).toList();
            double[] x = ps.stream().mapToDouble(r -> r[1]).toArray();
            chart.addSeries(String.format(Locale.ROOT, "Zipf %.1f measured", s), x, ps.stream().mapToDouble(r -> r[4]).toArray())
                    .setMarkerColor(color).setMarker(SeriesMarkers.CIRCLE).setLineStyle(org.knowm.xchart.style.lines.SeriesLines.NONE);
            chart.addSeries(String.format(Locale.ROOT, "Zipf %.1f predicted for this run", s), x, ps.stream().mapToDouble(r -> r[3]).toArray())
                    .setMarker(SeriesMarkers.NONE).setLineColor(color);
            chart.addSeries(String.format(Locale.ROOT, "Zipf %.1f steady state", s), x, ps.stream().mapToDouble(r -> r[2]).toArray())
                    .setMarker(SeriesMarkers.NONE).setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH).setLineColor(color);
        }
        Charts.save(chart, png);
    }

    private static double level(StepStats s, String level) {
        Double v = s.hitRateByLevel().get(level);
        return v == null ? Double.NaN : v;
    }
}
