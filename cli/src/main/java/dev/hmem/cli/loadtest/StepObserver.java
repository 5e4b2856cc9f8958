package dev.hmem.cli.loadtest;

import dev.hmem.cli.cluster.CpuUsage;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Watches the job and the machine over a step's measured window (warm-up end to the last send):
 * the generate subtasks' engine step counters ({@link EngineTime}), their cache hits and misses per
 * level, and, when the processes are local, the CPU of each by thread group ({@link CpuUsage}). Readings are taken on a timer beside
 * the load, at the window's two ends; the drain after a step is not counted.
 */
final class StepObserver {

    private record Reading(long nanos, List<EngineTime.Counters> engines, Map<String, Double> cache, CpuUsage.Snapshot cpu) {}

    private final CompletableFuture<Reading> first, last;

    /**
     * @param probe the job's REST probe, or null
     * @param pids  processes to account CPU to (name to pid); empty = no CPU accounting
     */
    StepObserver(FlinkProbe probe, Map<String, Long> pids, double warmupSeconds, double seconds) {
        Executor atWarm = CompletableFuture.delayedExecutor((long) (warmupSeconds * 1000), TimeUnit.MILLISECONDS);
        Executor atEnd = CompletableFuture.delayedExecutor((long) (seconds * 1000), TimeUnit.MILLISECONDS);
        first = CompletableFuture.supplyAsync(() -> read(probe, pids), atWarm);
        last = CompletableFuture.supplyAsync(() -> read(probe, pids), atEnd);
    }

    private static Reading read(FlinkProbe probe, Map<String, Long> pids) {
        long t = System.nanoTime();
        List<EngineTime.Counters> engines = null;
        Map<String, Double> cache = null;
        CpuUsage.Snapshot cpu = null;
        try {
            if (!pids.isEmpty()) cpu = CpuUsage.snapshot(pids);
        } catch (Exception e) {
            System.err.println("CPU accounting unavailable: " + e);
        }
        try {
            if (probe != null) engines = probe.engineCounters();
        } catch (Exception e) {
            System.err.println("engine step counters unavailable: " + e);
        }
        try {
            // After the engine counters' refresh wait, so these come from the same fresh fetch.
            if (probe != null) cache = probe.cacheCounters();
        } catch (Exception e) {
            System.err.println("per-level cache figures unavailable: " + e);
        }
        return new Reading(t, engines, cache, cpu);
    }

    /** The window's engine figures, or null (no probe, a reading failed, or the subtasks changed). */
    EngineTime engine() {
        Reading a = first.join(), b = last.join();
        if (a.engines() == null || b.engines() == null || a.engines().size() != b.engines().size()) return null;
        return EngineTime.between(a.engines(), b.engines(), (b.nanos() - a.nanos()) / 1e9);
    }

    /** Hit rate per cache level over the window; empty without a probe or when a reading failed. */
    Map<String, Double> hitRates() {
        Reading a = first.join(), b = last.join();
        if (a.cache() == null || b.cache() == null) return Map.of();
        return FlinkProbe.hitRates(a.cache(), b.cache());
    }

    /** Cores per process and thread group over the window ({@link CpuUsage#cores}); empty without CPU accounting. */
    Map<String, Map<String, Double>> cpu() {
        Reading a = first.join(), b = last.join();
        if (a.cpu() == null || b.cpu() == null) return Map.of();
        return CpuUsage.cores(a.cpu(), b.cpu(), (b.nanos() - a.nanos()) / 1e9);
    }
}
