package dev.hmem.cli.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Learning curves: what a run knows and how well it predicts held-out prose at each snapshot,
 * against the tokens and the training FLOPs spent to get there — where a memory run and a
 * baseline of the same budget part ways, and whether either had stopped improving.
 */
public final class CurveReport {

    private CurveReport() {}

    /** One snapshot's figures. */
    public record Point(long steps, long tokens, double flops, double allFacts, double tail, double perplexity) {}

    /** A run's snapshots, in step order. */
    public record Series(String name, List<Point> points) {}

    public static String table(List<Series> series) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "| run | steps | tokens | PFLOP | all facts | seen 3–25 | held-out perplexity |%n|---|---|---|---|---|---|---|%n"));
        for (Series s : series) {
            for (Point p : s.points()) {
                sb.append(String.format(Locale.ROOT, "| %s | %d | %.2fM | %.4f | %.1f%% | %.1f%% | %.2f |%n", s.name(), p.steps(),
                        p.tokens() / 1e6, p.flops() / 1e15, 100 * p.allFacts(), 100 * p.tail(), p.perplexity()));
            }
        }
        return sb.toString();
    }

    /**
     * Four charts beside {@code base} (base-facts-tokens.png, …): facts known and perplexity, each
     * against tokens and against FLOPs. Returns their file names.
     */
    public static List<String> plots(List<Series> series, Path base) throws IOException {
        String stem = base.getFileName().toString().replaceFirst("\\.png$", "");
        List<String> names = new ArrayList<>();
        record Axis(String key, String label, ToDoubleFunction<Point> f) {}
        List<Axis> xs = List.of(new Axis("tokens", "training tokens (millions)", p -> p.tokens() / 1e6),
                new Axis("flops", "training compute (TFLOP)", p -> p.flops() / 1e12));
        List<Axis> ys = List.of(new Axis("facts", "all facts known (%)", p -> 100 * p.allFacts()),
                new Axis("perplexity", "held-out perplexity", Point::perplexity));
        for (Axis y : ys) {
            for (Axis x : xs) {
                XYChart c = Charts.xy(y.label() + " against " + x.label(), x.label(), y.label());
                c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
                if (y.key().equals("perplexity")) c.getStyler().setYAxisLogarithmic(true);
                for (Series s : series) {
                    c.addSeries(s.name(), s.points().stream().mapToDouble(x.f()).toArray(), s.points().stream().mapToDouble(y.f()).toArray())
                            .setMarker(SeriesMarkers.CIRCLE);
                }
                String name = stem + "-" + y.key() + "-" + x.key() + ".png";
                Charts.save(c, base.resolveSibling(name));
                names.add(name);
            }
        }
        return names;
    }
}
