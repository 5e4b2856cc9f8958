package dev.hmem.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.hmem.cli.cluster.CpuUsage;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which threads count as an engine's when the job's CPU is set against the engine alone's. */
class ClusterBenchTest {

    @Test
    void engineThreadsAreFoundByTheirTruncatedNamesInEveryProcess() {
        Map<String, Map<String, Double>> cpu = new LinkedHashMap<>();
        cpu.put("taskmanager-0", Map.of("hmem-generate", 0.62, "hmem-java-decod", 0.10, "Source: kafka:", 0.11, "C2 CompilerThre", 0.04));
        cpu.put("taskmanager-1", Map.of("hmem-generate", 0.65, "flink-metrics-s", 0.01));
        cpu.put("bench (load generator)", Map.of("bench-engine-0-", 0.02, "kafka-producer-", 0.02));
        cpu.put(CpuUsage.ELSEWHERE, Map.of("", 0.08));
        cpu.put(CpuUsage.MACHINE, Map.of("busy", 1.98, "available", 2.0));
        assertThat(ClusterBench.engineCores(cpu)).isCloseTo(0.62 + 0.10 + 0.65 + 0.02, within(1e-12));
    }

    @Test
    void noEngineThreadsNoEngineCores() {
        Map<String, Map<String, Double>> cpu = Map.of("kafka", Map.of("data-plane-kafk", 0.5), CpuUsage.MACHINE, Map.of("busy", 0.5, "available", 2.0));
        assertThat(ClusterBench.engineCores(cpu)).isZero();
    }
}
