package dev.hmem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.cli.cluster.CpuUsage;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The time table of a load test: present only when a step was watched, one row per step. */
class LoadTestReportTest {

    private static StepStats step(String label, EngineTime engine, Map<String, Map<String, Double>> cpu) {
        StepStats.Percentiles p = new StepStats.Percentiles(1, 1, 1, 1, 1, 1);
        Map<String, StepStats.Percentiles> lat = new LinkedHashMap<>();
        for (String l : StepStats.LATENCIES) lat.put(l, p);
        return new StepStats(label, 8, 0, 8, 8, 256, 8, 100, 100, 0, 0, lat, 0.9, Map.of(), Map.of(), engine, cpu);
    }

    @Test
    void repeatedRunsReportEachStepsMedianAndRange() {
        List<LoadTest.Run> runs = new java.util.ArrayList<>();
        for (double achieved : new double[] {9, 7, 8.5}) {
            StepStats base = step("rate-8.00", null, Map.of());
            StepStats s = new StepStats(base.label(), 8, 0, 8, achieved, 32 * achieved, achieved, 100, 100, 0, 0, base.latency(), 0.9,
                    Map.of(), Map.of(), null, Map.of());
            runs.add(new LoadTest.Run(List.of(s), List.of(), Double.NaN));
        }
        assertThat(LoadTestReport.runs(runs)).contains("3 runs").contains("| rate-8.00 | 8.50 (7.00–9.00) | 272.00 (224.00–288.00) |");
    }

    @Test
    void unwatchedStepsHaveNoTimeTable() {
        assertThat(LoadTestReport.timeTable(List.of(step("rate-8.00", null, Map.of())))).isEmpty();
    }

    @Test
    void aWatchedStepShowsItsEngineFiguresAndCpu() {
        EngineTime e = EngineTime.between(List.of(new EngineTime.Counters(0, 0, 0, 0), new EngineTime.Counters(0, 0, 0, 0)),
                List.of(new EngineTime.Counters(100, 5_000_000, 10, 3200), new EngineTime.Counters(100, 10_000_000, 30, 3200)), 10);
        Map<String, Map<String, Double>> cpu = new LinkedHashMap<>();
        cpu.put("taskmanager-0", Map.of("hmem-generate", 0.66));
        cpu.put(CpuUsage.ELSEWHERE, Map.of("", 0.09));
        cpu.put(CpuUsage.MACHINE, Map.of("busy", 1.98, "available", 2.0));
        String t = LoadTestReport.timeTable(List.of(step("rate-22.37", e, cpu), step("rate-4.00", null, Map.of())), List.of("| extra |"));
        // Busy 75% (50% / 100%), 32 rows and 75 ms per step, 0.20 prefills per step.
        assertThat(t).contains("| rate-22.37 | 256.0 | 75% (50% / 100%) | 32.0 | 75.0 | 0.20 | taskmanager-0 0.66 (hmem-generate 0.66); "
                + "elsewhere 0.09; machine busy 1.98 of 2.00 |");
        assertThat(t).contains("| rate-4.00 | 256.0 | – | – | – | – | – |");
        assertThat(t.indexOf("| extra |")).isGreaterThan(t.indexOf("| rate-4.00 |"));
    }

    /** Ids and paths are the clients': a comma, a quote or a newline in one must not shift the columns. */
    @Test
    void requestsCsvQuotesWhatNeedsQuotingAndReadsBack(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String hostile = "id, with \"quotes\"\nand a line";
        RequestOutcome o = new RequestOutcome(hostile, "3.1", 12.5, true, true, "eos", 7, 80.25, 70.5, 20.125, 8.5, 1.25, 2, 1, "3.1.4", 15.5, 3.25, 410.0, 3.5, 11);
        RequestOutcome lost = RequestOutcome.unanswered("plain", null, 99);
        StepRunner.Step s = new StepRunner.Step("rate-1.00", 1, 0, 10, 0);
        StepRunner.Result r = new StepRunner.Result(s, List.of(o, lost), 2, 10, 2, 7, 0, 0);
        LoadTestReport.write(dir, Map.of(), List.of(), List.of(r));
        try (var in = java.nio.file.Files.newBufferedReader(dir.resolve("requests.csv"));
             var csv = org.apache.commons.csv.CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).get().parse(in)) {
            List<org.apache.commons.csv.CSVRecord> rows = csv.getRecords();
            assertThat(rows).hasSize(2);
            assertThat(rows.get(0).get("id")).isEqualTo(hostile);
            assertThat(rows.get(0).get("step")).isEqualTo("rate-1.00");
            assertThat(rows.get(0).get("ttft_ms")).isEqualTo("20.13");
            assertThat(rows.get(0).get("memory_path")).isEqualTo("3.1.4");
            assertThat(rows.get(1).get("answered")).isEqualTo("false");
            assertThat(rows.get(1).get("cluster")).isEmpty();
            assertThat(rows.get(0).size()).isEqualTo(rows.get(1).size()).isEqualTo(1 + RequestOutcome.CSV_HEADER.length);
        }
    }
}
