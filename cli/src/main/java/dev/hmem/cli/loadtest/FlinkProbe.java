package dev.hmem.cli.loadtest;

import dev.hmem.cli.cluster.FlinkRest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.runtime.checkpoint.CheckpointStatsStatus;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointStatistics;

/**
 * What the job itself reports during a step, read from Flink's REST API: the generate operators'
 * cache hits and misses per tree level (summed over subtasks, counted between two snapshots) and
 * the checkpoints completed in the step. Optional: a load test against Kafka alone reports without.
 */
final class FlinkProbe {

    private static final Pattern ENGINE = Pattern.compile("engine\\.(steps|stepMicros|prefillRows|decodeRows)$");
    private static final Pattern LEVEL = Pattern.compile("cache\\.level\\.([^.]+)\\.(hits|misses)$");

    private final FlinkRest rest;
    private final String job;
    private final String vertex;

    private FlinkProbe(FlinkRest rest, String job, String vertex) {
        this.rest = rest;
        this.job = job;
        this.vertex = vertex;
    }

    /** A probe of the running job on the cluster at {@code restAddress} (the given job, or the only running one). */
    static FlinkProbe connect(String restAddress, String jobId) throws Exception {
        FlinkRest rest = new FlinkRest(restAddress);
        String job = jobId;
        if (job == null) {
            List<String> running = rest.jobs().entrySet().stream().filter(e -> e.getValue().equals("RUNNING")).map(Map.Entry::getKey).toList();
            if (running.size() != 1) throw new IllegalArgumentException(running.size() + " jobs run at " + restAddress + ": name one with --job-id");
            job = running.get(0);
        }
        String vertex = rest.vertex(job, "generate").orElseThrow(() -> new IllegalArgumentException("no generate operator in the job"));
        return new FlinkProbe(rest, job, vertex);
    }

    /** Cumulative hits and misses per level, "level:hits" / "level:misses". */
    Map<String, Double> cacheCounters() throws Exception {
        Map<String, Double> out = new TreeMap<>();
        // Listed each time: a level's counters appear with its first lookup.
        List<String> names = rest.metricNames(job, vertex).stream().filter(n -> LEVEL.matcher(n).find()).toList();
        for (Map.Entry<String, Double> e : rest.metricSums(job, vertex, names).entrySet()) {
            Matcher m = LEVEL.matcher(e.getKey());
            if (m.find()) out.merge(m.group(1) + ":" + m.group(2), e.getValue(), Double::sum);
        }
        return out;
    }

    /**
     * How long a second request waits after the first. The JobManager's REST handlers answer from its
     * metric store and only then start fetching fresh values from the TaskManagers (asynchronously,
     * at most once per {@code metrics.fetcher.update-interval}), so a single request after a quiet
     * spell returns what was fetched at the previous request — in a load test step, 45 s old.
     */
    static final long REFRESH_WAIT_MS = 1500;

    /**
     * Each generate subtask's engine step counters ({@link EngineTime}), in subtask order, as fetched
     * right after this call starts: a first request starts the fetch, a second one reads it.
     */
    List<EngineTime.Counters> engineCounters() throws Exception {
        readEngineCounters();
        Thread.sleep(REFRESH_WAIT_MS);
        return readEngineCounters();
    }

    private List<EngineTime.Counters> readEngineCounters() throws Exception {
        List<String> names = rest.metricNames(job, vertex).stream().filter(n -> ENGINE.matcher(n).find()).toList();
        int n = rest.parallelism(job, vertex);
        List<EngineTime.Counters> out = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            Map<String, Double> m = new java.util.HashMap<>();
            for (Map.Entry<String, Double> e : rest.subtaskMetrics(job, vertex, i, names).entrySet()) {
                Matcher x = ENGINE.matcher(e.getKey());
                if (x.find()) m.put(x.group(1), e.getValue());
            }
            out.add(new EngineTime.Counters(m.getOrDefault("steps", 0.0).longValue(), m.getOrDefault("stepMicros", 0.0).longValue(),
                    m.getOrDefault("prefillRows", 0.0).longValue(), m.getOrDefault("decodeRows", 0.0).longValue()));
        }
        return out;
    }

    /** Hit rate per level between two snapshots of {@link #cacheCounters}. */
    static Map<String, Double> hitRates(Map<String, Double> before, Map<String, Double> after) {
        Map<String, Double> out = new TreeMap<>();
        java.util.Set<String> levels = new java.util.TreeSet<>();
        for (String key : after.keySet()) levels.add(key.substring(0, key.indexOf(':')));
        for (String level : levels) {
            String key = level + ":hits";
            double h = after.getOrDefault(key, 0.0) - before.getOrDefault(key, 0.0);
            double m = after.getOrDefault(level + ":misses", 0.0) - before.getOrDefault(level + ":misses", 0.0);
            if (h + m > 0) out.put(level, h / (h + m));
        }
        return out;
    }

    /** Checkpoints completed between the two times: count, mean and max duration (ms). */
    Map<String, Double> checkpoints(long fromEpochMs, long toEpochMs) throws Exception {
        int n = 0;
        double sum = 0, max = 0;
        for (CheckpointStatistics c : rest.checkpointHistory(job)) {
            long at = c.getTriggerTimestamp();
            if (at < fromEpochMs || at > toEpochMs || c.getStatus() != CheckpointStatsStatus.COMPLETED) continue;
            double d = c.getDuration();
            n++;
            sum += d;
            max = Math.max(max, d);
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("count", (double) n);
        out.put("mean_ms", n == 0 ? Double.NaN : sum / n);
        out.put("max_ms", n == 0 ? Double.NaN : max);
        return out;
    }
}
