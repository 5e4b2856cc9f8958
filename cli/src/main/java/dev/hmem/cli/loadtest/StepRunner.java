package dev.hmem.cli.loadtest;

import dev.hmem.runtime.Progress;
import dev.hmem.schemas.PromptRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Runs one step of a load test: open loop (arrivals at a rate, whatever the server does — a slow
 * server meets a growing queue, as it would in production) or closed loop (a fixed number of
 * clients, each sending its next request when the last is answered). Requests sent during the
 * warm-up are excluded from the statistics; after the step, outstanding requests get a drain
 * period to be answered before they count as unanswered.
 */
final class StepRunner {

    /**
     * @param rate        offered requests per second (open loop), or 0
     * @param concurrency clients (closed loop), or 0
     */
    record Step(String label, double rate, int concurrency, double seconds, double warmupSeconds) {
        boolean openLoop() {
            return concurrency == 0;
        }
    }

    /** What a step produced: the measured requests, and what arrived within the measurement window. */
    record Result(Step step, List<RequestOutcome> requests, int sent, double windowSeconds, int arrivedInWindow,
                  long tokensInWindow, long startEpochMs, long endEpochMs) {}

    private record Pending(String id, String cluster, long sentNanos, CompletableFuture<ResultListener.Arrival> answer) {}

    private final KafkaProducer<byte[], byte[]> producer;
    private final dev.hmem.cli.kafka.PromptEncoder encoder;
    private final ResultListener listener;
    /** Streaming requests' partial results, or null when the requests do not stream. */
    private final ChunkListener chunks;
    private final String topic;
    private final int maxNewTokens;
    private final double drainSeconds;
    private final AtomicInteger counter = new AtomicInteger();
    private boolean ignoreEos;
    /** Open loop: outstanding requests at most (an arrival waits for one to be answered); 0 = no cap. */
    private int maxConcurrency;
    private Ramp ramp = Ramp.NONE;

    StepRunner ramp(Ramp r) {
        this.ramp = r;
        return this;
    }
    private final String runId = "lt" + Long.toString(System.currentTimeMillis(), 36);

    StepRunner(KafkaProducer<byte[], byte[]> producer, dev.hmem.cli.kafka.PromptEncoder encoder, ResultListener listener, String topic,
               int maxNewTokens, double drainSeconds) {
        this(producer, encoder, listener, null, topic, maxNewTokens, drainSeconds);
    }

    StepRunner(KafkaProducer<byte[], byte[]> producer, dev.hmem.cli.kafka.PromptEncoder encoder, ResultListener listener,
               ChunkListener chunks, String topic, int maxNewTokens, double drainSeconds) {
        this.chunks = chunks;
        this.producer = producer;
        this.encoder = encoder;
        this.listener = listener;
        this.topic = topic;
        this.maxNewTokens = maxNewTokens;
        this.drainSeconds = drainSeconds;
    }

    /** A fixed output length ({@code ignore_eos}) and a cap on outstanding requests in open loop (0 = none). */
    StepRunner limits(boolean ignoreEos, int maxConcurrency) {
        this.ignoreEos = ignoreEos;
        this.maxConcurrency = maxConcurrency;
        return this;
    }

    /**
     * Waits, up to {@code maxSeconds}, until the answers owed for earlier steps' unanswered
     * requests have come: a step after an overloaded one would otherwise start behind its queue and
     * measure that step's backlog (a sweep's bisection steps down right after an overload).
     */
    void awaitCaughtUp(String step, double maxSeconds) throws InterruptedException {
        long end = System.nanoTime() + (long) (maxSeconds * 1e9);
        int first = listener.backlog();
        if (first == 0) return;
        System.err.printf(java.util.Locale.ROOT, "[%s] waiting for the job to catch up: %d answers owed from earlier steps%n", step, first);
        while (listener.backlog() > 0 && System.nanoTime() < end) Thread.sleep(500);
        int left = listener.backlog();
        if (left > 0) {
            System.err.printf(java.util.Locale.ROOT, "[%s] %d answers still owed after %.0f s; starting anyway%n", step, left, maxSeconds);
            listener.abandonBacklog();
        }
    }

    private Pending send(Workload w, String step) {
        Workload.Pick pick = w.next();
        String id = runId + "-" + step + "-" + counter.getAndIncrement();
        CompletableFuture<ResultListener.Arrival> f = listener.await(id);
        if (chunks != null) chunks.await(id);
        PromptRequest p = PromptRequest.newBuilder().setId(id).setText(pick.prompt()).setMaxNewTokens(maxNewTokens)
                .setCreatedAt(Instant.now()).setStream(chunks != null ? Boolean.TRUE : null)
                .setIgnoreEos(ignoreEos ? Boolean.TRUE : null).setMemoryPath(w.forcesPaths() ? pick.cluster() : null).build();
        long now = System.nanoTime();
        producer.send(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), encoder.encode(p)));
        return new Pending(id, pick.cluster(), now, f);
    }

    Result run(Step s, Workload w) throws Exception {
        List<Pending> all = java.util.Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime(), warmEnd = start + (long) (s.warmupSeconds() * 1e9), end = start + (long) (s.seconds() * 1e9);
        long startEpoch = System.currentTimeMillis();
        Progress progress = Progress.of(s.label(), (long) Math.ceil(s.seconds()), "s");
        if (s.openLoop()) {
            // A step's own slots: a request left unanswered by an earlier step holds none of them.
            java.util.concurrent.Semaphore slots = maxConcurrency > 0 ? new java.util.concurrent.Semaphore(maxConcurrency) : null;
            double next = 0;
            long lastTick = start;
            while (true) {
                long at = start + (long) (next * 1e9);
                if (at >= end) break;
                long wait = at - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                if (slots != null) {
                    // As vLLM's --max-concurrency: the arrival is due, but waits for a free slot.
                    while (!slots.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                        if (System.nanoTime() >= end) break;
                    }
                    if (System.nanoTime() >= end) break;
                }
                Pending p = send(w, s.label());
                if (slots != null) p.answer().whenComplete((a, e) -> slots.release());
                all.add(p);
                next += w.nextGap(s.rate() * ramp.share(next));
                lastTick = tick(progress, lastTick, all);
            }
        } else {
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < s.concurrency(); c++) {
                Thread t = new Thread(() -> {
                    while (System.nanoTime() < end) {
                        Pending p = send(w, s.label());
                        all.add(p);
                        try {
                            p.answer().get(Math.max(1, end - System.nanoTime()) + (long) (drainSeconds * 1e9), TimeUnit.NANOSECONDS);
                        } catch (Exception timeoutOrInterrupt) {
                            return;
                        }
                    }
                }, "loadtest-client-" + c);
                t.setDaemon(true);
                t.start();
                clients.add(t);
            }
            long lastTick = start;
            while (System.nanoTime() < end) {
                Thread.sleep(200);
                lastTick = tick(progress, lastTick, all);
            }
            for (Thread t : clients) t.join(TimeUnit.SECONDS.toMillis((long) drainSeconds + 5));
        }
        producer.flush();
        long endEpoch = System.currentTimeMillis();
        // Drain: requests already sent get a grace period to be answered.
        long drainUntil = System.nanoTime() + (long) (drainSeconds * 1e9);
        List<Pending> sent;
        synchronized (all) {
            sent = new ArrayList<>(all);
        }
        for (Pending p : sent) {
            long left = drainUntil - System.nanoTime();
            if (left <= 0) break;
            try {
                p.answer().get(left, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException late) {
                break;
            }
        }
        List<RequestOutcome> measured = new ArrayList<>();
        int arrivedInWindow = 0;
        long tokens = 0;
        for (Pending p : sent) {
            ResultListener.Arrival a = p.answer().getNow(null);
            if (a == null) listener.forget(p.id());
            if (a != null && a.nanos() >= warmEnd && a.nanos() <= end) {
                arrivedInWindow++;
                tokens += a.result().getCompletionTokens();
            }
            if (p.sentNanos() < warmEnd) continue;
            double sentMs = (p.sentNanos() - start) / 1e6;
            RequestOutcome o = a == null ? RequestOutcome.unanswered(p.id(), p.cluster(), sentMs)
                    : RequestOutcome.of(p.id(), p.cluster(), sentMs, a.result(), (a.nanos() - p.sentNanos()) / 1e6);
            if (chunks != null) {
                o = o.withStream(chunks.seen(p.id(), false), chunks.seen(p.id(), true), p.sentNanos());
                chunks.forget(p.id());
            }
            measured.add(o);
        }
        return new Result(s, measured, sent.size(), (end - warmEnd) / 1e9, arrivedInWindow, tokens, startEpoch, endEpoch);
    }

    private static long tick(Progress progress, long lastTick, List<Pending> all) {
        long now = System.nanoTime();
        if (now - lastTick < 1_000_000_000L) return lastTick;
        int answered = 0, sent;
        synchronized (all) {
            sent = all.size();
            for (Pending p : all) if (p.answer().isDone()) answered++;
        }
        progress.advance((now - lastTick) / 1_000_000_000L, answered + "/" + sent + " answered");
        return lastTick + ((now - lastTick) / 1_000_000_000L) * 1_000_000_000L;
    }
}
