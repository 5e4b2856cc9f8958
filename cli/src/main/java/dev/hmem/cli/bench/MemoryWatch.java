package dev.hmem.cli.bench;

import dev.hmem.cli.cluster.FlinkRest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import oshi.SystemInfo;
import oshi.software.os.OSProcess;
import oshi.software.os.OperatingSystem;

/**
 * Samples, while a job runs, what bounded memory is about: each TaskManager process's resident set (OSHI, from
 * /proc), and each generate subtask's evictable block bytes in memory (its {@code cache.liveBytes} gauge, cached and
 * held by prompts after eviction, through the REST API). Keeps the largest sample of each; a sample is a moment, so
 * a peak between two samples is missed — the bound itself is asserted by the block cache's tests.
 */
final class MemoryWatch implements AutoCloseable {

    private static final OperatingSystem OS = new SystemInfo().getOperatingSystem();

    private final Map<String, Long> pids;
    private final FlinkRest rest;
    private final String job, vertex;
    private final Map<String, Long> maxRss = new LinkedHashMap<>();
    private final Map<Integer, Long> maxLive = new LinkedHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    private int samples;

    /** Starts sampling every {@code periodMs} the processes {@code pids} (name to pid) and the job's generate subtasks. */
    MemoryWatch(Map<String, Long> pids, String restAddress, String job, long periodMs) throws Exception {
        this.pids = pids;
        this.rest = new FlinkRest(restAddress);
        this.job = job;
        this.vertex = rest.vertex(job, "generate").orElseThrow(() -> new IllegalArgumentException("no generate operator in job " + job));
        this.thread = new Thread(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(periodMs);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-watch");
        thread.setDaemon(true);
        thread.start();
    }

    private void sample() {
        synchronized (this) {
            for (Map.Entry<String, Long> e : pids.entrySet()) {
                OSProcess p = OS.getProcess(Math.toIntExact(e.getValue()));
                if (p != null) maxRss.merge(e.getKey(), p.getResidentSetSize(), Math::max);
            }
        }
        try {
            List<String> names = rest.metricNames(job, vertex).stream().filter(n -> n.endsWith("cache.liveBytes")).toList();
            int subtasks = rest.parallelism(job, vertex);
            for (int s = 0; s < subtasks; s++) {
                double v = rest.subtaskMetrics(job, vertex, s, names).values().stream().mapToDouble(Double::doubleValue).sum();
                synchronized (this) {
                    maxLive.merge(s, (long) v, Math::max);
                }
            }
            synchronized (this) {
                samples++;
            }
        } catch (Exception e) {
            // A sample the REST API could not give (the job is starting or stopping) is skipped.
        }
    }

    /** Largest resident set seen per process, bytes. */
    synchronized Map<String, Long> maxRss() {
        return new LinkedHashMap<>(maxRss);
    }

    /** Largest evictable block bytes in memory seen per generate subtask. */
    synchronized Map<Integer, Long> maxLiveBlockBytes() {
        return new LinkedHashMap<>(maxLive);
    }

    synchronized int samples() {
        return samples;
    }

    @Override
    public void close() throws Exception {
        running = false;
        thread.interrupt();
        thread.join(10_000);
    }
}
