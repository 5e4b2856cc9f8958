package dev.hmem.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.junit.jupiter.api.Test;

/** The demo reports how its job ended and never claims one that is not running. */
class JobWatchTest {

    /** A job whose status and end the test sets. */
    static final class ScriptedJob implements JobClient {
        final AtomicReference<JobStatus> status = new AtomicReference<>(JobStatus.CREATED);
        final CompletableFuture<JobExecutionResult> end = new CompletableFuture<>();

        @Override public JobID getJobID() { return new JobID(); }
        @Override public CompletableFuture<JobStatus> getJobStatus() { return CompletableFuture.completedFuture(status.get()); }
        @Override public CompletableFuture<Void> cancel() { return CompletableFuture.completedFuture(null); }
        @Override public CompletableFuture<String> stopWithSavepoint(boolean d, String s, SavepointFormatType f) { return null; }
        @Override public CompletableFuture<String> triggerSavepoint(String s, SavepointFormatType f) { return null; }
        @Override public CompletableFuture<Map<String, Object>> getAccumulators() { return null; }
        @Override public CompletableFuture<JobExecutionResult> getJobExecutionResult() { return end; }
    }

    static String printed(Runnable r) {
        PrintStream old = System.out;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        System.setOut(new PrintStream(b, true));
        try {
            r.run();
        } finally {
            System.setOut(old);
        }
        return b.toString();
    }

    @Test
    void aJobThatFailsBeforeRunningEndsTheDemoWithItsCause() throws Exception {
        ScriptedJob job = new ScriptedJob();
        job.status.set(JobStatus.FAILED);
        job.end.completeExceptionally(new RuntimeException("Job execution failed.",
                new IllegalStateException("generation engine failed: model file missing")));
        JobWatch w = new JobWatch(job);
        assertThat(w.awaitRunning(Duration.ofSeconds(5))).isFalse();
        int[] code = new int[1];
        String out = printed(() -> code[0] = w.report());
        assertThat(code[0]).isEqualTo(2);
        assertThat(out).contains("FAILED").contains("IllegalStateException: generation engine failed: model file missing");
    }

    @Test
    void keepRunningReturnsAsSoonAsTheJobStops() throws Exception {
        ScriptedJob job = new ScriptedJob();
        job.status.set(JobStatus.RUNNING);
        JobWatch w = new JobWatch(job);
        assertThat(w.awaitRunning(Duration.ofSeconds(10))).isTrue();
        assertThat(w.stopped()).isFalse();
        Thread stopper = new Thread(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException ignored) {
                return;
            }
            job.status.set(JobStatus.FAILED);
            job.end.completeExceptionally(new IllegalStateException("restarts exhausted"));
        });
        stopper.start();
        w.awaitStop();
        int[] code = new int[1];
        String out = printed(() -> code[0] = w.report());
        assertThat(code[0]).isNotZero();
        assertThat(out).contains("restarts exhausted");
    }
}
