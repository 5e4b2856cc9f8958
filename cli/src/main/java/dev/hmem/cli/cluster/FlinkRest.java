package dev.hmem.cli.cluster;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.client.program.PackagedProgramUtils;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.rest.handler.legacy.messages.ClusterOverviewWithVersion;
import org.apache.flink.runtime.rest.messages.EmptyRequestBody;
import org.apache.flink.runtime.rest.messages.JobExceptionsHeaders;
import org.apache.flink.runtime.rest.messages.JobExceptionsInfoWithHistory;
import org.apache.flink.runtime.rest.messages.MessageParameter;
import org.apache.flink.runtime.rest.messages.MessageParameters;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointStatistics;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointingStatistics;
import org.apache.flink.runtime.rest.messages.checkpoints.CheckpointingStatisticsHeaders;
import org.apache.flink.runtime.rest.messages.job.JobDetailsInfo;
import org.apache.flink.runtime.rest.messages.job.metrics.AggregatedMetric;
import org.apache.flink.runtime.rest.messages.job.metrics.AggregatedSubtaskMetricsHeaders;
import org.apache.flink.runtime.rest.messages.job.metrics.AggregatedSubtaskMetricsParameters;

/**
 * What {@code flink run}, {@code flink stop} and {@code flink cancel} do, and the job, checkpoint and metric state a
 * load test reads, through Flink's own REST client ({@link RestClusterClient}, from flink-clients) and its typed
 * message headers. Submitting compiles the job graph here, as {@code flink run} does: the job jar's main runs in a
 * class loader of its own with this cluster's configuration, and the graph is sent with the jar.
 */
public final class FlinkRest {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final String address;
    private final Configuration config;

    /** A client of the JobManager at {@code address} ("http://127.0.0.1:8081"), jobs compiled with {@code config}. */
    public FlinkRest(String address, Configuration config) {
        this.address = address.endsWith("/") ? address.substring(0, address.length() - 1) : address;
        URI uri = URI.create(this.address);
        this.config = new Configuration(config);
        this.config.set(RestOptions.ADDRESS, uri.getHost());
        this.config.set(RestOptions.PORT, uri.getPort());
    }

    public FlinkRest(String address) {
        this(address, new Configuration());
    }

    public String address() {
        return address;
    }

    /** One client per call: they hold netty threads, and calls are seconds apart. */
    @FunctionalInterface
    private interface Call<T> {
        CompletableFuture<T> on(RestClusterClient<String> client) throws Exception;
    }

    private <T> T call(String what, Call<T> call) throws IOException {
        try (RestClusterClient<String> client = new RestClusterClient<>(config, "hmem")) {
            return call.on(client).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException(what + " failed: " + rootCause(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + what, e);
        } catch (TimeoutException e) {
            throw new IOException(what + ": no answer from " + address + " within " + TIMEOUT.toSeconds() + " s", e);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(what + " failed: " + rootCause(e), e);
        }
    }

    /** The innermost cause's message: the JobManager's own reason, not the chain of futures around it. */
    static String rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) c = c.getCause();
        String msg = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
        return msg.lines().filter(l -> !l.isBlank()).findFirst().orElse(msg).trim();
    }

    /** Whether the JobManager answers, and its overview (TaskManagers, slots, jobs). */
    public Optional<ClusterOverviewWithVersion> overview() {
        try {
            return Optional.of(call("overview", RestClusterClient::getClusterOverview));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Submits the job in {@code jar} ({@code entryClass}, {@code args}), from {@code savepoint} if not null (state
     * that no longer maps onto the job is refused, not dropped); returns the job id.
     */
    public String submit(Path jar, String entryClass, List<String> args, String savepoint) throws IOException {
        JobGraph graph;
        try {
            // The job's main runs here with this process's classes first: the CLI is built with the job's own
            // dependencies, and child-first loading would pair the jar's Kafka classes with the connector's from here
            // (a loader constraint violation). Only the compilation sees this; the cluster loads the jar as it is
            // configured to.
            Configuration compile = new Configuration(config);
            compile.set(CoreOptions.CLASSLOADER_RESOLVE_ORDER, "parent-first");
            PackagedProgram program = PackagedProgram.newBuilder().setJarFile(jar.toFile()).setEntryPointClassName(entryClass)
                    .setArguments(args.toArray(new String[0])).setConfiguration(compile)
                    .setSavepointRestoreSettings(savepoint == null ? SavepointRestoreSettings.none()
                            : SavepointRestoreSettings.forPath(savepoint, false))
                    .build();
            try {
                graph = PackagedProgramUtils.createJobGraph(program, config, 1, false);
            } finally {
                program.close();
            }
        } catch (Exception e) {
            throw new IOException("the job in " + jar + " cannot be compiled: " + rootCause(e), e);
        }
        return call("submitting " + jar.getFileName(), c -> c.submitJob(graph)).toHexString();
    }

    /** The job's state: CREATED, RUNNING, FAILING, FAILED, CANCELED, FINISHED, RESTARTING, ... */
    public String state(String jobId) throws IOException {
        return call("job state", c -> c.getJobStatus(JobID.fromHexString(jobId))).name();
    }

    public JobDetailsInfo job(String jobId) throws IOException {
        return call("job details", c -> c.getJobDetails(JobID.fromHexString(jobId)));
    }

    /** Whether every task of the job is RUNNING (a job can be RUNNING while its tasks still deploy). */
    public boolean allTasksRunning(String jobId) throws IOException {
        JobDetailsInfo j = job(jobId);
        if (j.getJobStatus() != JobStatus.RUNNING) return false;
        for (JobDetailsInfo.JobVertexDetailsInfo v : j.getJobVertexInfos()) {
            Map<ExecutionState, Integer> tasks = v.getTasksPerState();
            int up = tasks.getOrDefault(ExecutionState.RUNNING, 0) + tasks.getOrDefault(ExecutionState.FINISHED, 0);
            if (up < v.getParallelism()) return false;
        }
        return true;
    }

    /** Stops the job with a savepoint into {@code dir} (null: the configured default); returns its path. */
    public String stopWithSavepoint(String jobId, String dir, Duration timeout) throws IOException {
        return call("stop-with-savepoint of " + jobId,
                c -> c.stopWithSavepoint(JobID.fromHexString(jobId), false, dir, SavepointFormatType.CANONICAL));
    }

    public void cancel(String jobId) throws IOException {
        call("cancelling " + jobId, c -> c.cancel(JobID.fromHexString(jobId)));
    }

    private CheckpointingStatistics checkpoints(String jobId) throws IOException {
        var headers = CheckpointingStatisticsHeaders.getInstance();
        var params = headers.getUnresolvedMessageParameters();
        resolve(params, "jobid", jobId);
        return call("checkpoints of " + jobId, c -> c.sendRequest(headers, params, EmptyRequestBody.getInstance()));
    }

    /** Path of the latest completed checkpoint that is retained on storage, if any. */
    public Optional<String> latestCheckpoint(String jobId) throws IOException {
        CheckpointingStatistics s = checkpoints(jobId);
        var latest = s.getLatestCheckpoints() == null ? null : s.getLatestCheckpoints().getCompletedCheckpointStatistics();
        return latest == null ? Optional.empty() : Optional.ofNullable(latest.getExternalPath());
    }

    /** Recent checkpoints (as many as {@code web.checkpoints.history} keeps), newest first. */
    public List<CheckpointStatistics> checkpointHistory(String jobId) throws IOException {
        return checkpoints(jobId).getHistory();
    }

    /** The job's root exception, the reason it failed or last restarted (its stack trace). */
    public Optional<String> rootException(String jobId) throws IOException {
        var headers = JobExceptionsHeaders.getInstance();
        var params = headers.getUnresolvedMessageParameters();
        resolve(params, "jobid", jobId);
        JobExceptionsInfoWithHistory e = call("exceptions of " + jobId, c -> c.sendRequest(headers, params, EmptyRequestBody.getInstance()));
        var entries = e.getExceptionHistory().getEntries();
        if (entries.isEmpty()) return Optional.empty();
        // A stack trace runs to pages: its innermost "Caused by" is the reason.
        String trace = entries.get(0).getStacktrace();
        String cause = trace.lines().findFirst().orElse(trace);
        for (String line : trace.lines().toList()) if (line.startsWith("Caused by: ")) cause = line.substring(11);
        return Optional.of(cause);
    }

    /** Ids of the jobs the cluster knows, with their state. */
    public Map<String, String> jobs() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (var j : call("jobs", RestClusterClient::listJobs)) out.put(j.getJobId().toHexString(), j.getJobState().name());
        return out;
    }

    /** The id of the job's vertex whose name contains {@code name} ("generate"). */
    public Optional<String> vertex(String jobId, String name) throws IOException {
        for (JobDetailsInfo.JobVertexDetailsInfo v : job(jobId).getJobVertexInfos()) {
            if (v.getName().contains(name)) return Optional.of(v.getJobVertexID().toHexString());
        }
        return Optional.empty();
    }

    /** The vertex's parallelism (how many subtasks it runs). */
    public int parallelism(String jobId, String vertexId) throws IOException {
        for (JobDetailsInfo.JobVertexDetailsInfo v : job(jobId).getJobVertexInfos()) {
            if (v.getJobVertexID().toHexString().equals(vertexId)) return v.getParallelism();
        }
        throw new IOException("no vertex " + vertexId + " in job " + jobId);
    }

    /** Names of the metrics a vertex's subtasks report. */
    public List<String> metricNames(String jobId, String vertexId) throws IOException {
        List<String> out = new ArrayList<>();
        for (AggregatedMetric m : subtaskMetrics(jobId, vertexId, null, null)) out.add(m.getId());
        return out;
    }

    /** Each metric summed over the vertex's subtasks. */
    public Map<String, Double> metricSums(String jobId, String vertexId, List<String> names) throws IOException {
        return sums(jobId, vertexId, names, null);
    }

    /** The named metrics of one subtask (those it reports; the others are absent), from the JobManager's metric store. */
    public Map<String, Double> subtaskMetrics(String jobId, String vertexId, int subtask, List<String> names) throws IOException {
        return sums(jobId, vertexId, names, Integer.toString(subtask));
    }

    private Map<String, Double> sums(String jobId, String vertexId, List<String> names, String subtasks) throws IOException {
        Map<String, Double> out = new LinkedHashMap<>();
        if (names.isEmpty()) return out;
        for (AggregatedMetric m : subtaskMetrics(jobId, vertexId, names, subtasks)) {
            if (m.getSum() != null) out.put(m.getId(), m.getSum());
        }
        return out;
    }

    /** The aggregating subtask-metrics endpoint: {@code names} summed over {@code subtasks} (null: all; no names: the list). */
    private java.util.Collection<AggregatedMetric> subtaskMetrics(String jobId, String vertexId, List<String> names, String subtasks)
            throws IOException {
        var headers = AggregatedSubtaskMetricsHeaders.getInstance();
        AggregatedSubtaskMetricsParameters params = headers.getUnresolvedMessageParameters();
        resolve(params, "jobid", jobId);
        resolve(params, "vertexid", vertexId);
        if (names != null) {
            resolve(params, "get", String.join(",", names));
            resolve(params, "agg", "sum");
        }
        if (subtasks != null) resolve(params, "subtasks", subtasks);
        return call("metrics of " + vertexId, c -> c.sendRequest(headers, params, EmptyRequestBody.getInstance())).getMetrics();
    }

    /** Sets the path or query parameter named {@code key} (Flink's parameter classes keep their fields private). */
    private static void resolve(MessageParameters params, String key, String value) throws IOException {
        List<MessageParameter<?>> all = new ArrayList<>(params.getPathParameters());
        all.addAll(params.getQueryParameters());
        for (MessageParameter<?> p : all) {
            if (p.getKey().equals(key)) {
                try {
                    p.resolveFromString(value);
                    return;
                } catch (Exception e) {
                    throw new IOException("parameter " + key + "=" + value + ": " + e.getMessage(), e);
                }
            }
        }
        throw new IllegalArgumentException("no parameter " + key + " in " + params.getClass().getSimpleName());
    }
}
