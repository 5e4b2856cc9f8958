package dev.hmem.cli.demo;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;

/**
 * Keeps the demo honest about its job: whether it runs, and if it stopped, why. A job that fails
 * (after its bounded restarts) or stops ends the demo with the cause and a non-zero exit code,
 * instead of a prompt that waits for answers that will never come.
 */
final class JobWatch {

    private final JobClient job;
    private final CompletableFuture<?> end;

    JobWatch(JobClient job) {
        this.job = job;
        this.end = job.getJobExecutionResult();
    }

    /**
     * Waits until every task of the job runs (the operators open their models right after the job
     * switches to RUNNING, so a short grace follows); false if the job stopped or never got there.
     */
    boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && !stopped()) {
            if (status() == JobStatus.RUNNING) {
                Thread.sleep(3000);
                return !stopped() && status() == JobStatus.RUNNING;
            }
            Thread.sleep(100);
        }
        if (!stopped()) System.out.println("the job did not start within " + timeout.toSeconds() + " s (status " + status() + ")");
        return false;
    }

    boolean stopped() {
        return end.isDone();
    }

    /** Blocks until the job ends (it should not, short of a failure or a cancel from the web UI). */
    void awaitStop() throws InterruptedException {
        while (!stopped()) {
            try {
                end.get(1, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // ended with a failure (report() tells), or still running
            }
        }
    }

    private JobStatus status() {
        try {
            return job.getJobStatus().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            return stopped() ? JobStatus.FAILED : JobStatus.INITIALIZING;
        }
    }

    /** Prints how the job ended and returns the demo's exit code: 0 only if it has not stopped. */
    int report() {
        if (!stopped()) {
            System.out.println("hmem demo: the job is not running (status " + status() + ")");
            return 1;
        }
        try {
            end.join();
            System.out.println("hmem demo: the job stopped (status " + status() + ")");
        } catch (Exception e) {
            System.out.println("hmem demo: the job FAILED: " + cause(e));
        }
        return 2;
    }

    /** The root cause, with the chain of messages that led to it. */
    static String cause(Throwable e) {
        StringBuilder sb = new StringBuilder();
        Throwable root = e;
        for (Throwable t = e; t != null; t = t.getCause()) {
            root = t;
            if (t.getCause() == t) break;
        }
        sb.append(root.getClass().getSimpleName()).append(": ").append(root.getMessage());
        for (Throwable t = e; t != null && t != root; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && !m.isBlank() && !m.startsWith("java.") && !m.contains("Job execution failed")) {
                sb.append("\n    via ").append(m.length() > 300 ? m.substring(0, 300) + "…" : m);
            }
        }
        return sb.toString();
    }
}
