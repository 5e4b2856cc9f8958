package dev.hmem.cli.report;

import dev.hmem.training.eval.Evaluator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Conditions evaluated over several seeds, as the main table reports them: the mean and the
 * range (min–max) of each figure across seeds, then per-bucket means. One seed's noise on this
 * machine moves a figure by a point or two (RESULTS.md), so a single run is not a result.
 */
public final class SeedTable {

    private SeedTable() {}

    /** A condition (or baseline) and its result for each seed, in seed order. */
    public record Row(String name, List<Evaluator.ConditionResult> seeds) {
        public Row {
            if (seeds.isEmpty()) throw new IllegalArgumentException("a row needs at least one seed: " + name);
        }

        double[] values(ToDoubleFunction<Evaluator.ConditionResult> f) {
            return seeds.stream().mapToDouble(f).toArray();
        }
    }

    public static final ToDoubleFunction<Evaluator.ConditionResult> TAIL = r -> r.accuracy(1, 3);
    public static final ToDoubleFunction<Evaluator.ConditionResult> ALL = Evaluator.ConditionResult::overall;
    public static final ToDoubleFunction<Evaluator.ConditionResult> PERPLEXITY = Evaluator.ConditionResult::perplexity;

    /** "12.3% (11.0–13.9)" or "57.30 (55.1–59.0)"; one seed gives the value alone. */
    static String meanRange(double[] v, boolean percent) {
        double mean = java.util.Arrays.stream(v).average().orElseThrow();
        double min = java.util.Arrays.stream(v).min().orElseThrow(), max = java.util.Arrays.stream(v).max().orElseThrow();
        double k = percent ? 100 : 1;
        String f = percent ? "%.1f%%" : "%.2f";
        if (v.length == 1) return String.format(Locale.ROOT, f, k * mean);
        String r = percent ? "%.1f–%.1f" : "%.2f–%.2f";
        return String.format(Locale.ROOT, f + " (" + r + ")", k * mean, k * min, k * max);
    }

    /** The main table: facts seen 3–25 times, all facts, held-out perplexity, mean (range). */
    public static String table(List<Row> rows) {
        int seeds = rows.get(0).seeds().size();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "| condition | seen 3–25 | all facts | held-out perplexity |%n|---|---|---|---|%n"));
        for (Row r : rows) {
            if (r.seeds().size() != seeds) throw new IllegalArgumentException(r.name() + " has " + r.seeds().size() + " seeds, not " + seeds);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s |%n", r.name(), meanRange(r.values(TAIL), true),
                    meanRange(r.values(ALL), true), meanRange(r.values(PERPLEXITY), false)));
        }
        return sb.toString();
    }

    /** Accuracy per exposure bucket, mean over seeds (a bucket's facts pooled over seeds). */
    public static String bucketTable(List<Row> rows) {
        int buckets = Evaluator.BUCKETS.length;
        StringBuilder sb = new StringBuilder("| condition |");
        for (int b = 0; b < buckets; b++) sb.append(" seen ").append(ResultsReport.bucketLabel(b)).append(" |");
        sb.append("\n|---|");
        for (int b = 0; b < buckets; b++) sb.append("---|");
        sb.append('\n');
        for (Row r : rows) {
            sb.append("| ").append(r.name()).append(" |");
            for (int b = 0; b < buckets; b++) {
                double acc = pooled(r, b);
                sb.append(Double.isNaN(acc) ? " – |" : String.format(Locale.ROOT, " %.1f%% |", 100 * acc));
            }
            sb.append('\n');
        }
        // One count row per distinct bucketing: the memory run's conditions share one, each
        // baseline (bucketed by its own training's exposures) may have another.
        List<int[]> printed = new java.util.ArrayList<>();
        for (Row r : rows) {
            int[] n = new int[buckets];
            for (Evaluator.ConditionResult c : r.seeds()) for (int b = 0; b < buckets; b++) n[b] += c.total()[b];
            if (printed.stream().anyMatch(p -> java.util.Arrays.equals(p, n))) continue;
            printed.add(n);
            sb.append("| *facts per bucket, all seeds (").append(r == rows.get(0) ? "memory runs" : r.name()).append(")* |");
            for (int b = 0; b < buckets; b++) sb.append(' ').append(n[b]).append(" |");
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Facts known in bucket {@code b} over all seeds' facts in it (NaN if none). */
    static double pooled(Row r, int b) {
        int c = 0, t = 0;
        for (Evaluator.ConditionResult s : r.seeds()) {
            c += s.correct()[b];
            t += s.total()[b];
        }
        return t == 0 ? Double.NaN : (double) c / t;
    }

    /** Pooled accuracy (y) per exposure bucket (x), one line per row. */
    public static void plot(List<Row> rows, Path png, String title) throws IOException {
        int buckets = Evaluator.BUCKETS.length;
        XYChart c = Charts.xy(title, "times the fact was seen in its model's training (bucket)", "facts known (%)");
        double[] x = new double[buckets];
        for (int b = 0; b < buckets; b++) x[b] = b;
        c.getStyler().setxAxisTickLabelsFormattingFunction(v -> {
            int b = (int) Math.round(v);
            return b >= 0 && b < buckets && Math.abs(v - b) < 1e-6 ? ResultsReport.bucketLabel(b) : "";
        });
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(100.0);
        for (Row r : rows) {
            double[] y = new double[buckets];
            for (int b = 0; b < buckets; b++) y[b] = 100 * pooled(r, b);
            c.addSeries(r.name(), x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        Charts.save(c, png);
    }
}
