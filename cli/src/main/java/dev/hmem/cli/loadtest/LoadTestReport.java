package dev.hmem.cli.loadtest;

import com.google.gson.GsonBuilder;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * A load test's output: {@code loadtest.json} (the configuration and every step's figures),
 * {@code requests.csv} (one line per measured request), {@code summary.md} (the table a capacity
 * planner reads) and the plots ({@link LoadTestPlots}).
 */
public final class LoadTestReport {

    private LoadTestReport() {}

    static void write(Path dir, Map<String, Object> config, List<StepStats> steps, List<StepRunner.Result> results) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("config", config);
        json.put("steps", steps);
        json.put("schema", "hmem-loadtest/2: field by field in docs/LOADTEST.md, with the map to vLLM's bench serve result");
        // One naming style, snake_case, as the configuration's keys and vLLM's result files use.
        Files.writeString(dir.resolve("loadtest.json"), new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
                .setFieldNamingPolicy(com.google.gson.FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).create().toJson(json));
        List<String> header = new ArrayList<>(List.of("step"));
        header.addAll(List.of(RequestOutcome.CSV_HEADER));
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("requests.csv"), StandardCharsets.UTF_8);
             CSVPrinter csv = CSVFormat.RFC4180.builder().setHeader(header.toArray(new String[0])).get().print(w)) {
            for (StepRunner.Result r : results) {
                for (RequestOutcome o : r.requests()) {
                    List<Object> row = new ArrayList<>(List.of(r.step().label()));
                    row.addAll(o.csv());
                    csv.printRecord(row);
                }
            }
        }
        Files.writeString(dir.resolve("summary.md"), markdown(config, steps) + "\n" + timeTable(steps));
    }

    /**
     * Several runs of the same test, step by step: the median of each figure over the runs and its range (min–max),
     * since one run on a noisy machine is one sample.
     */
    public static String runs(List<LoadTest.Run> runs) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%d runs: median (min–max) per step%n%n", runs.size()));
        sb.append("| step | achieved req/s | output tok/s | goodput req/s | TTFT p50 ms | TTFT p99 ms | e2e p50 ms | unanswered |\n");
        sb.append("|---|---|---|---|---|---|---|---|\n");
        int steps = runs.get(0).steps().size();
        for (int i = 0; i < steps; i++) {
            int k = i;
            java.util.function.Function<java.util.function.ToDoubleFunction<StepStats>, String> cell = f -> {
                double[] v = runs.stream().filter(r -> r.steps().size() > k).mapToDouble(r -> f.applyAsDouble(r.steps().get(k)))
                        .sorted().toArray();
                double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
                return String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", median, v[0], v[v.length - 1]);
            };
            sb.append("| ").append(runs.get(0).steps().get(i).label())
                    .append(" | ").append(cell.apply(StepStats::achievedRate))
                    .append(" | ").append(cell.apply(StepStats::outputTokensPerSecond))
                    .append(" | ").append(cell.apply(StepStats::goodput))
                    .append(" | ").append(cell.apply(s -> s.latency().get("ttft").p50()))
                    .append(" | ").append(cell.apply(s -> s.latency().get("ttft").p99()))
                    .append(" | ").append(cell.apply(s -> s.latency().get("e2e").p50()))
                    .append(" | ").append(cell.apply(s -> s.unanswered())).append(" |\n");
        }
        return sb.toString();
    }

    static String markdown(Map<String, Object> config, List<StepStats> steps) {
        StringBuilder sb = new StringBuilder();
        sb.append("| step | offered | achieved req/s | output tok/s | goodput req/s | TTFT p50 / p90 / p99 ms | TPOT p50 / p99 ms"
                + " | e2e p50 / p99 ms | queue p50 / p99 ms | commit delay p50 ms | hit rate (per level) | errors | unanswered |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (StepStats s : steps) {
            var t = s.latency().get("ttft");
            var p = s.latency().get("tpot");
            var e = s.latency().get("e2e");
            var q = s.latency().get("queue");
            var c = s.latency().get("commit_delay");
            String offered = s.concurrency() > 0 ? s.concurrency() + " clients" : String.format(Locale.ROOT, "%.2f req/s", s.offeredRate());
            String levels = levels(s);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.1f | %.2f | %.0f / %.0f / %.0f | %.1f / %.1f | %.0f / %.0f | %.0f / %.0f"
                            + " | %.0f | %.1f%%%s | %d | %d |%n", s.label(), offered, s.achievedRate(), s.outputTokensPerSecond(),
                    s.goodput(), t.p50(), t.p90(), t.p99(), p.p50(), p.p99(), e.p50(), e.p99(), q.p50(), q.p99(), c.p50(),
                    100 * s.hitRate(), levels.length() == 0 ? "" : " (" + levels + ")", s.errors(), s.unanswered()));
        }
        if (steps.stream().anyMatch(st -> st.latency().get("stream_ttft").count() > 0)) {
            sb.append("\nStreaming, as clients reading the token topic see it (ms): time to first token from the send, and time per"
                    + " token between a request's first and last partial result.\n\n| step | read_uncommitted TTFT p50 / p90 / p99 |"
                    + " inter-token p50 / p90 / p99 | read_committed TTFT p50 / p90 / p99 | inter-token p50 / p90 / p99 |\n|---|---|---|---|---|\n");
            for (StepStats st : steps) {
                var ut = st.latency().get("stream_ttft");
                var ui = st.latency().get("stream_itl");
                var ct = st.latency().get("committed_ttft");
                var ci = st.latency().get("committed_itl");
                sb.append(String.format(Locale.ROOT, "| %s | %.0f / %.0f / %.0f | %.1f / %.1f / %.1f | %.0f / %.0f / %.0f | %.1f / %.1f / %.1f |%n",
                        st.label(), ut.p50(), ut.p90(), ut.p99(), ui.p50(), ui.p90(), ui.p99(), ct.p50(), ct.p90(), ct.p99(),
                        ci.p50(), ci.p90(), ci.p99()));
            }
        }
        sb.append("\nSLO for goodput: ").append(config.get("slo")).append(". TTFT counts from the request's creation to its first token;"
                + " e2e is what the client waited, the checkpoint commit of exactly-once delivery included (reported on its own as"
                + " the commit delay).\n");
        return sb.toString();
    }

    /**
     * Where each step's time went (steps with engine counters or CPU accounting; empty when none
     * has either): the generate subtasks' share of the window spent stepping, decode rows and
     * milliseconds per step, prompts prefilled per step, and the cores each process used.
     */
    public static String timeTable(List<StepStats> steps) {
        return timeTable(steps, List.of());
    }

    /** The same with rows of the caller's after the steps' (a reference measured outside the load test). */
    public static String timeTable(List<StepStats> steps, List<String> moreRows) {
        if (steps.stream().noneMatch(s -> s.engine() != null || !s.cpu().isEmpty())) return "";
        StringBuilder sb = new StringBuilder();
        sb.append("| step | output tok/s | engine busy (per subtask) | decode rows / step | ms / step | prefills / step | CPU, cores: process (busiest thread groups) |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (StepStats s : steps) {
            EngineTime e = s.engine();
            String busy = e == null ? "–" : String.format(Locale.ROOT, "%.0f%% (%s)", 100 * e.busyShare(),
                    String.join(" / ", e.busyShares().stream().map(b -> String.format(Locale.ROOT, "%.0f%%", 100 * b)).toList()));
            sb.append(String.format(Locale.ROOT, "| %s | %.1f | %s | %s | %s | %s | %s |%n", s.label(), s.outputTokensPerSecond(), busy,
                    e == null ? "–" : String.format(Locale.ROOT, "%.1f", e.rowsPerStep()),
                    e == null ? "–" : String.format(Locale.ROOT, "%.1f", e.msPerStep()),
                    e == null ? "–" : String.format(Locale.ROOT, "%.2f", e.prefillPerStep()), cpu(s.cpu())));
        }
        for (String row : moreRows) sb.append(row).append('\n');
        sb.append("\nEngine busy: the share of the measured window a generate subtask's engine spent in decode steps "
                + "(prefill included); output tokens/s ≈ subtasks × busy × rows per step ÷ time per step. CPU from /proc over "
                + "the same window, native threads included.\n");
        return sb.toString();
    }

    /** Cores per process with its three busiest thread groups, then the rest and the machine. */
    public static String cpu(Map<String, Map<String, Double>> cores) {
        if (cores.isEmpty()) return "–";
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Map<String, Double>> p : cores.entrySet()) {
            if (p.getKey().equals(dev.hmem.cli.cluster.CpuUsage.MACHINE)) continue;
            if (sb.length() > 0) sb.append("; ");
            double total = dev.hmem.cli.cluster.CpuUsage.total(p.getValue());
            if (p.getKey().equals(dev.hmem.cli.cluster.CpuUsage.ELSEWHERE)) {
                sb.append(String.format(Locale.ROOT, "elsewhere %.2f", total));
            } else {
                sb.append(String.format(Locale.ROOT, "%s %.2f (%s)", p.getKey(), total, dev.hmem.cli.cluster.CpuUsage.busiest(p.getValue(), 3)));
            }
        }
        Map<String, Double> m = cores.get(dev.hmem.cli.cluster.CpuUsage.MACHINE);
        if (m != null) sb.append(String.format(Locale.ROOT, "; machine busy %.2f of %.2f", m.get("busy"), m.get("available")));
        return sb.toString().replace("|", "/");
    }

    /** A step's cache hit rate per tree level, as "L1 100%, L2 92%" (empty without a Flink probe). */
    public static String levels(StepStats s) {
        StringBuilder out = new StringBuilder();
        s.hitRateByLevel().forEach((l, v) -> out.append(out.length() == 0 ? "" : ", ").append("L").append(l)
                .append(String.format(Locale.ROOT, " %.0f%%", 100 * v)));
        return out.toString();
    }
}
