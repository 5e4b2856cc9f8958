package dev.hmem.runtime.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits a loop over rows between the calling thread and {@code threads - 1} worker threads, and
 * waits for all: the Java decode path's only parallelism, a few dozen splits per decode step, each
 * a millisecond or less of work. A hand-off through an executor (a queue, a future, a wake-up)
 * costs ~10-20 µs, a fifth of a batch-1 layer; so workers spin for a short while after each split,
 * where the next one finds them awake, and park only when no split has come for
 * {@value #SPIN_NANOS} ns (between steps). With one thread everything runs on the caller, as the
 * streaming job's engines do. One caller at a time.
 */
public final class Parallel implements AutoCloseable {

    /** A half-open range of rows. */
    public interface Range {
        void run(int from, int to);
    }

    private static final long SPIN_NANOS = 100_000;
    /** Loops shorter than this run on the caller: not worth waking anyone. */
    private static final int MIN_SPLIT = 64;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long generation;
    private volatile boolean closed;
    // Written by the caller before the volatile write of generation, read by workers after reading it.
    private Range body;
    private int count;
    private int chunk;
    private volatile Throwable failure;

    public Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.workers = new Thread[this.threads - 1];
        for (int t = 0; t < workers.length; t++) {
            int index = t + 1;
            workers[t] = new Thread(() -> work(index), "hmem-java-decode-" + index);
            workers[t].setDaemon(true);
            workers[t].start();
        }
    }

    public void rows(int count, Range body) {
        if (workers.length == 0 || count < MIN_SPLIT) {
            body.run(0, count);
            return;
        }
        if (closed) throw new IllegalStateException("the decoder is closed");
        this.body = body;
        this.count = count;
        this.chunk = (count + threads - 1) / threads;
        failure = null;
        pending.set(workers.length);
        generation++;  // volatile write: publishes body, count and chunk
        for (Thread w : workers) LockSupport.unpark(w);
        Throwable mine = null;
        try {
            body.run(0, Math.min(count, chunk));
        } catch (RuntimeException | Error e) {
            mine = e;
        }
        while (pending.get() != 0) Thread.onSpinWait();
        Throwable theirs = failure;
        if (mine != null) sneaky(mine);
        if (theirs != null) throw new IllegalStateException("decoding failed: " + theirs, theirs);
    }

    private void work(int index) {
        long seen = 0;
        while (true) {
            long g;
            long spinStart = System.nanoTime();
            while ((g = generation) == seen) {
                if (closed) return;
                if (System.nanoTime() - spinStart < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);  // the caller unparks after every new split
                    spinStart = System.nanoTime();
                }
            }
            seen = g;
            int from = Math.min(count, index * chunk), to = Math.min(count, from + chunk);
            try {
                if (from < to) body.run(from, to);
            } catch (Throwable e) {
                failure = e;
            } finally {
                pending.decrementAndGet();
            }
        }
    }

    private static void sneaky(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        throw (Error) t;
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
