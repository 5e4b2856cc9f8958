package dev.hmem.cli.report;

import dev.hmem.training.eval.Evaluator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The long-tail evaluation as a markdown table and a plot of accuracy against training frequency (XChart). */
public final class ResultsReport {

    private ResultsReport() {}

    public static String bucketLabel(int b) {
        int[] r = Evaluator.BUCKETS[b];
        return r[1] == Integer.MAX_VALUE ? r[0] + "+" : r[0] + "–" + r[1];
    }

    public static String table(List<Evaluator.ConditionResult> results) {
        StringBuilder sb = new StringBuilder("| condition |");
        int buckets = Evaluator.BUCKETS.length;
        for (int b = 0; b < buckets; b++) sb.append(" seen ").append(bucketLabel(b)).append(" |");
        sb.append(" seen 3–25 | all facts | held-out perplexity |\n|---|");
        for (int b = 0; b <= buckets + 2; b++) sb.append("---|");
        sb.append('\n');
        for (Evaluator.ConditionResult r : results) {
            sb.append("| ").append(r.name()).append(" |");
            for (int b = 0; b < buckets; b++) {
                sb.append(r.total()[b] == 0 ? " – |" : String.format(Locale.ROOT, " %.1f%% |", 100.0 * r.correct()[b] / r.total()[b]));
            }
            sb.append(String.format(Locale.ROOT, " %.1f%% | %.1f%% | %.2f |%n", 100 * r.accuracy(1, 3), 100 * r.overall(), r.perplexity()));
        }
        for (Evaluator.ConditionResult r : List.of(results.get(0), results.get(results.size() - 1))) {
            sb.append("| *facts per bucket (").append(r == results.get(0) ? "memory run" : r.name()).append(")* |");
            for (int b = 0; b < buckets; b++) sb.append(' ').append(r.total()[b]).append(" |");
            sb.append(" | | |\n");
            if (results.size() == 1) break;
        }
        return sb.toString();
    }

    /** Accuracy (y) per exposure bucket (x), one line per condition. */
    public static void plot(List<Evaluator.ConditionResult> results, Path png, String title) throws IOException {
        int buckets = Evaluator.BUCKETS.length;
        XYChart c = Charts.xy(title, "times the fact was seen in training (bucket)", "facts known (%)");
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        double[] x = new double[buckets];
        for (int b = 0; b < buckets; b++) x[b] = b;
        c.getStyler().setxAxisTickLabelsFormattingFunction(v -> {
            int b = (int) Math.round(v);
            return b >= 0 && b < buckets && Math.abs(v - b) < 1e-6 ? bucketLabel(b) : "";
        });
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        c.getStyler().setYAxisMin(0.0);
        c.getStyler().setYAxisMax(100.0);
        for (Evaluator.ConditionResult r : results) {
            double[] y = new double[buckets];
            for (int b = 0; b < buckets; b++) y[b] = r.total()[b] == 0 ? Double.NaN : 100.0 * r.correct()[b] / r.total()[b];
            c.addSeries(r.name(), x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        c.getStyler().setChartTitleVisible(true);
        Charts.save(c, png);
    }
}
