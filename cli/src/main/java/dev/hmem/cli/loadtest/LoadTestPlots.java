package dev.hmem.cli.loadtest;

import java.io.IOException;
import java.nio.file.Path;
import dev.hmem.cli.report.Charts;
import java.util.List;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The load test's plots, drawn with XChart: latency and throughput against offered load, TTFT distributions. */
public final class LoadTestPlots {

    private LoadTestPlots() {}

    static XYChart chart(String title, String x, String y) {
        return Charts.xy(title, x, y);
    }

    static void save(XYChart c, Path png) throws IOException {
        Charts.save(c, png);
    }

    /** The x of each step: its offered rate (open loop) or its clients (closed loop). */
    static double[] load(List<StepStats> steps) {
        return steps.stream().mapToDouble(s -> s.concurrency() > 0 ? s.concurrency() : s.offeredRate()).toArray();
    }

    static String loadAxis(List<StepStats> steps) {
        return steps.stream().anyMatch(s -> s.concurrency() > 0) ? "concurrent clients" : "offered load (requests/s)";
    }

    static void latencyVsLoad(List<StepStats> steps, Path png) throws IOException {
        XYChart c = chart("Latency against offered load", loadAxis(steps), "milliseconds");
        c.getStyler().setYAxisLogarithmic(true);
        double[] x = load(steps);
        for (String q : List.of("p50", "p90", "p99")) {
            double[] ttft = steps.stream().mapToDouble(s -> pick(s.latency().get("ttft"), q)).toArray();
            c.addSeries("TTFT " + q, x, ttft).setMarker(SeriesMarkers.CIRCLE);
        }
        c.addSeries("end-to-end p50", x, steps.stream().mapToDouble(s -> s.latency().get("e2e").p50()).toArray())
                .setMarker(SeriesMarkers.DIAMOND);
        c.addSeries("end-to-end p99", x, steps.stream().mapToDouble(s -> s.latency().get("e2e").p99()).toArray())
                .setMarker(SeriesMarkers.DIAMOND);
        c.addSeries("TPOT p50", x, steps.stream().mapToDouble(s -> s.latency().get("tpot").p50()).toArray())
                .setMarker(SeriesMarkers.SQUARE);
        save(c, png);
    }

    static void throughputVsLoad(List<StepStats> steps, Path png) throws IOException {
        XYChart c = chart("Throughput and goodput against offered load", loadAxis(steps), "requests/s");
        double[] x = load(steps);
        c.addSeries("achieved requests/s", x, steps.stream().mapToDouble(StepStats::achievedRate).toArray()).setMarker(SeriesMarkers.CIRCLE);
        c.addSeries("goodput (within SLO)", x, steps.stream().mapToDouble(StepStats::goodput).toArray()).setMarker(SeriesMarkers.SQUARE);
        if (steps.stream().allMatch(s -> s.concurrency() == 0)) {
            c.addSeries("offered", x, x).setMarker(SeriesMarkers.NONE);
        }
        save(c, png);
    }

    static void ttftCdf(List<StepRunner.Result> results, Path png) throws IOException {
        XYChart c = chart("Time to first token, per step", "milliseconds", "fraction of requests");
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        for (StepRunner.Result r : results) {
            double[][] cdf = StepStats.cdf(r.requests(), RequestOutcome::ttftMs);
            if (cdf[0].length > 0) c.addSeries(r.step().label(), cdf[0], cdf[1]).setMarker(SeriesMarkers.NONE);
        }
        save(c, png);
    }

    private static double pick(StepStats.Percentiles p, String q) {
        return switch (q) {
            case "p50" -> p.p50();
            case "p90" -> p.p90();
            default -> p.p99();
        };
    }
}
