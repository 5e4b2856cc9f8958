package dev.hmem.cli.cluster;

import dev.hmem.jobs.inference.InferenceOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The inference job on a cluster, as {@code flink run / stop / cancel} handle it: the job is compiled here and
 * submitted with its jar and options; each submission's options are kept in the run
 * directory, so that a rescale (stop with a savepoint, run again at another parallelism from it) or
 * a restart from the latest retained checkpoint submits the same job again.
 */
public final class ClusterJobs {

    public static final String ENTRY_CLASS = "dev.hmem.jobs.inference.InferenceJob";

    private final LocalCluster cluster;
    private final Path jobJar;

    public ClusterJobs(LocalCluster cluster, Path jobJar) {
        this.cluster = cluster;
        this.jobJar = jobJar;
    }

    private Path argsFile(String jobId) {
        return cluster.runDir().resolve("jobs").resolve(jobId + ".args");
    }

    /** Submits the job with {@code options}, from {@code savepoint} if not null. */
    public String submit(InferenceOptions options, String savepoint) throws IOException {
        return submit(options.toArgs(), savepoint);
    }

    /** Submits the job with {@code args} (its InferenceJob options, as a user gives them), from {@code savepoint} if not null. */
    public String submit(List<String> args, String savepoint) throws IOException {
        if (!Files.exists(jobJar)) throw new IOException(jobJar + " does not exist: build it with `mvn package` (the first `./hmem` call does)");
        String id = cluster.rest().submit(jobJar, ENTRY_CLASS, args, savepoint);
        Files.createDirectories(argsFile(id).getParent());
        Files.write(argsFile(id), args, StandardCharsets.UTF_8);
        return id;
    }

    /** The options a job was submitted with. */
    public List<String> argsOf(String jobId) throws IOException {
        if (!Files.exists(argsFile(jobId))) throw new IOException("job " + jobId + " was not submitted from " + cluster.runDir());
        return Files.readAllLines(argsFile(jobId), StandardCharsets.UTF_8);
    }

    /** Waits until every task of the job runs; fails with the job's own exception if it fails first. */
    public void awaitRunning(String jobId, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cluster.rest().allTasksRunning(jobId)) {
            String state = cluster.rest().state(jobId);
            if (state.equals("FAILED") || state.equals("CANCELED") || state.equals("FINISHED")) {
                throw new IllegalStateException("job " + jobId + " is " + state + ": "
                        + cluster.rest().rootException(jobId).orElse("(no exception recorded)"));
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("job " + jobId + " is not running after " + timeout);
            Thread.sleep(250);
        }
    }

    /** Stops the job with a savepoint and runs it again from it with {@code --parallelism} {@code parallelism}. */
    public String rescale(String jobId, int parallelism) throws IOException {
        InferenceOptions options = InferenceOptions.parse(argsOf(jobId).toArray(new String[0])).toBuilder()
                .serving(s -> s.parallelism(parallelism)).build();
        String savepoint = cluster.rest().stopWithSavepoint(jobId, cluster.savepointDir().toUri().toString(), Duration.ofMinutes(2));
        return submit(options, savepoint);
    }

    /** Runs a cancelled or failed job again from its latest retained checkpoint. */
    public String restartFromLatestCheckpoint(String jobId) throws IOException {
        Optional<String> chk = cluster.rest().latestCheckpoint(jobId);
        if (chk.isEmpty()) throw new IOException("job " + jobId + " has no retained checkpoint");
        return submit(argsOf(jobId), chk.get());
    }
}
