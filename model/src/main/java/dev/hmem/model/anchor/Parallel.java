package dev.hmem.model.anchor;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Splits a loop over rows between the calling thread and {@code threads - 1} pool threads, and
 * waits for all: the Java decode path's only parallelism (one split per matrix, a few dozen per
 * step). With one thread everything runs on the caller, as the streaming job's engines do.
 */
final class Parallel implements AutoCloseable {

    /** A half-open range of rows. */
    interface Range {
        void run(int from, int to);
    }

    private final int threads;
    private final ExecutorService pool;

    Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads == 1 ? null : Executors.newFixedThreadPool(this.threads - 1, r -> {
            Thread t = new Thread(r, "hmem-java-decode");
            t.setDaemon(true);
            return t;
        });
    }

    void rows(int count, Range body) {
        // Small loops are not worth a hand-off to another thread (~10 µs).
        if (pool == null || count < 64) {
            body.run(0, count);
            return;
        }
        int chunk = (count + threads - 1) / threads;
        Future<?>[] others = new Future<?>[threads - 1];
        for (int t = 1; t < threads; t++) {
            int from = Math.min(count, t * chunk), to = Math.min(count, from + chunk);
            others[t - 1] = pool.submit(() -> body.run(from, to));
        }
        body.run(0, Math.min(count, chunk));
        for (Future<?> f : others) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while decoding", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("decoding failed: " + e.getCause().getMessage(), e.getCause());
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
