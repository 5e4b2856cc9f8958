package dev.hmem.cli.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The inference job on a cluster, as {@code flink run / stop / cancel} handle it: the job jar is
 * uploaded once and run with the job's own options; each submission's options are kept in the run
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

    /** The uploaded jar's id, uploading it the first time (a 240 MB jar is worth keeping). */
    private String jarId() throws IOException {
        Path idFile = cluster.runDir().resolve("jobs").resolve("jar.id");
        if (Files.exists(idFile) && Files.getLastModifiedTime(idFile).compareTo(Files.getLastModifiedTime(jobJar)) > 0) {
            String id = Files.readString(idFile).trim();
            if (Files.exists(cluster.runDir().resolve("web-upload")) && uploaded(id)) return id;
        }
        if (!Files.exists(jobJar)) throw new IOException(jobJar + " does not exist: build it with `mvn package` (the first `./hmem` call does)");
        String id = cluster.rest().uploadJar(jobJar);
        Files.createDirectories(idFile.getParent());
        Files.writeString(idFile, id);
        return id;
    }

    private boolean uploaded(String id) throws IOException {
        try (var s = Files.walk(cluster.runDir().resolve("web-upload"))) {
            return s.anyMatch(p -> p.getFileName().toString().equals(id));
        }
    }

    /** Submits the job with {@code args} (its InferenceJob options), from {@code savepoint} if not null. */
    public String submit(List<String> args, String savepoint) throws IOException {
        String id = cluster.rest().run(jarId(), ENTRY_CLASS, args, savepoint);
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
        List<String> args = withOption(argsOf(jobId), "--parallelism", Integer.toString(parallelism));
        String savepoint = cluster.rest().stopWithSavepoint(jobId, cluster.savepointDir().toUri().toString(), Duration.ofMinutes(2));
        return submit(args, savepoint);
    }

    /** Runs a cancelled or failed job again from its latest retained checkpoint. */
    public String restartFromLatestCheckpoint(String jobId) throws IOException {
        Optional<String> chk = cluster.rest().latestCheckpoint(jobId);
        if (chk.isEmpty()) throw new IOException("job " + jobId + " has no retained checkpoint");
        return submit(argsOf(jobId), chk.get());
    }

    /** {@code args} with {@code option} set to {@code value} (replaced, or appended). */
    static List<String> withOption(List<String> args, String option, String value) {
        List<String> out = new ArrayList<>(args);
        int i = out.indexOf(option);
        if (i >= 0 && i + 1 < out.size()) out.set(i + 1, value);
        else {
            out.add(option);
            out.add(value);
        }
        return out;
    }
}
