package dev.hmem.operators.engine;

import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.anchor.JavaDecoder;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.SamplingParams;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subtask's generation: its own anchor copy, block cache and continuous-batching generator,
 * driven by a dedicated thread so the Flink task thread only hands prompts in and results out
 * (the pattern of Flink's async I/O operator). Prompts start loading their blocks the moment they
 * arrive (prefetch); the {@link BatchScheduler} admits the ones whose blocks are ready, favouring
 * paths already in the batch; finished answers go to the {@link Listener} from the engine thread.
 *
 * <p>A step that fails does not take the subtask down: the generator is discarded and its prompts
 * are retried once together, then bisected ({@link FaultIsolation}) until the prompt that fails
 * alone is found; it is answered with an error and reported as poisoned, all others are answered
 * normally. Should a trivial canary generation fail too, the engine itself is broken and it fails.
 *
 * <p>{@link #close()} stops the engine thread and the block loaders and waits for both to finish,
 * whatever interrupts arrive, before the cache's native memory is freed; only then may the owner
 * close the bank and the anchor.
 */
public final class GenerationEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationEngine.class);

    /** What the engine reports, on its own thread. */
    public interface Listener {
        /** The answer to a prompt (an error result when its memory could not be loaded). */
        void result(String uid, ResultRecord result);

        /** A prompt the generator failed on even alone: answer it with {@code error} and dead-letter it. */
        void poisoned(PromptTask task, String error);

        /** The engine stopped for good; every prompt not yet answered stays unanswered. */
        void failed(Throwable cause);
    }

    /**
     * Fault injection for tests: runs on the engine thread before every step with the uids in the
     * generator. Serializable, since the operator that carries it is shipped with the job.
     */
    public interface StepProbe extends java.io.Serializable {
        void beforeStep(Set<String> uids) throws Exception;

        StepProbe NONE = uids -> { };
    }

    private final ServingConfig config;
    private final EngineMetrics metrics;
    private final Listener listener;
    private final StepProbe probe;
    private final LinkedBlockingQueue<PromptTask> incoming = new LinkedBlockingQueue<>();
    private final ExecutorService loaders;
    private final Anchor anchor;
    private final MemoryBank bank;
    private final BlockCache cache;
    private final String bankVersion;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;
    private volatile int queuedCount;
    private volatile int batchRows;
    private volatile long poisonedCount;

    /** A prompt waiting for a slot, its blocks loading since it arrived. */
    private static final class Waiting {
        final PromptTask task;
        final long arrivalNanos = System.nanoTime();
        final CompletableFuture<List<MemoryBlock>> blocks;
        final int misses;
        long readyNanos;

        Waiting(PromptTask task, CompletableFuture<List<MemoryBlock>> blocks, int misses) {
            this.task = task;
            this.blocks = blocks;
            this.misses = misses;
        }
    }

    /** A prompt in the generator: what its result needs, and its blocks (retained by the generator). */
    private record InFlight(Waiting waiting, List<MemoryBlock> blocks, long admitNanos, int hits) {
        String uid() {
            return waiting.task.uid();
        }
    }

    public GenerationEngine(ServingConfig config, MemoryBank bank, Anchor anchor, EngineMetrics metrics,
                            Listener listener, String threadName) {
        this(config, bank, anchor, metrics, listener, StepProbe.NONE, threadName);
    }

    public GenerationEngine(ServingConfig config, MemoryBank bank, Anchor anchor, EngineMetrics metrics,
                            Listener listener, StepProbe probe, String threadName) {
        this.config = config;
        this.metrics = metrics;
        this.listener = listener;
        this.probe = probe;
        this.anchor = anchor;
        this.bank = bank;
        this.loaders = Executors.newFixedThreadPool(config.loaderThreads(), r -> {
            Thread t = new Thread(r, threadName + "-loader");
            t.setDaemon(true);
            return t;
        });
        this.cache = bank == null ? null : new BlockCache(bank, config.cacheBytes(), config.pinnedLevels(), loaders, metrics);
        this.bankVersion = bank == null ? "" : bank.manifest().anchor().fingerprint() + "/" + bank.manifest().description();
        this.thread = new Thread(this::run, threadName);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Hands a routed prompt to the engine (any thread). */
    public void submit(PromptTask task) {
        checkHealthy();
        incoming.add(task);
    }

    /** Rethrows a failure of the engine thread on the caller's thread. */
    public void checkHealthy() {
        if (failure != null) throw new IllegalStateException("generation engine failed: " + failure.getMessage(), failure);
    }

    public int queued() {
        return queuedCount;
    }

    public int batchRows() {
        return batchRows;
    }

    /** Prompts answered with an error because generation failed on them alone. */
    public long poisoned() {
        return poisonedCount;
    }

    public BlockCache cache() {
        return cache;
    }

    /** Whether the engine thread is still alive (false once {@link #close()} returned). */
    public boolean isAlive() {
        return thread.isAlive();
    }

    private BatchGenerator newGenerator() {
        BatchGenerator g = new BatchGenerator(anchor.transformer(), anchor.tokenizer()::decode, config.maxBatch(),
                config.context() > 0 ? config.context() : anchor.config().maxPositions(), 2048)
                .maxDistinctPaths(config.maxPathsPerBatch())
                .prefillGrouping(config.prefillMinFreeSlots(), config.prefillMaxDelayMs());
        if (config.javaDecodeRows() > 0) {
            if (JavaDecoder.available()) {
                g.javaDecode(anchor.transformer().javaDecoder(config.torchThreads(), config.weightFormat(), config.javaBlockCopyBytes()), config.javaDecodeRows());
            } else {
                LOG.warn("Java decode path off: the JVM lacks --add-modules jdk.incubator.vector (small batches decode "
                        + "through PyTorch, several times slower)");
            }
        }
        return g;
    }

    private void run() {
        BatchGenerator generator = null;
        try {
            generator = newGenerator();
            List<Waiting> waiting = new ArrayList<>();
            Map<String, InFlight> inFlight = new LinkedHashMap<>();
            while (running) {
                drain(waiting, generator.isIdle() && waiting.isEmpty());
                admit(waiting, inFlight, generator);
                queuedCount = waiting.size();
                if (generator.isIdle()) {
                    if (!waiting.isEmpty()) awaitAnyReady(waiting);
                    continue;
                }
                List<Completion> done;
                try {
                    probe.beforeStep(inFlight.keySet());
                    done = generator.step();
                } catch (Throwable e) {
                    Failures.rethrowIfFatal(e);
                    // Hold every prompt's blocks here: discarding the generator releases its holds.
                    for (InFlight f : inFlight.values()) for (MemoryBlock b : f.blocks()) b.retain();
                    discard(generator);
                    generator = null;
                    recover(new ArrayList<>(inFlight.values()), e);
                    inFlight.clear();
                    generator = newGenerator();
                    continue;
                }
                BatchGenerator.StepStats last = generator.lastStep();
                batchRows = last.decodeRows();
                if (batchRows > 0) metrics.batch(batchRows);
                metrics.step(last.prefillRows(), last.decodeRows(), last.nanos());
                for (Completion c : done) answer(inFlight.remove(c.id()), c);
            }
        } catch (Throwable t) {
            if (running) {
                failure = t;
                LOG.error("generation engine failed", t);
                try {
                    listener.failed(t);
                } catch (Throwable ignored) {
                    // the owner is shutting down: nobody is left to tell
                }
            }
        } finally {
            // Native memory of the generator is freed on the thread that used it, before close() returns.
            if (generator != null) discard(generator);
        }
    }

    private void answer(InFlight f, Completion c) {
        metrics.tokens(c.tokens().length);
        listener.result(f.uid(), result(f, c));
    }

    /**
     * After a failed step: the generator is gone, and each prompt's blocks are held (retained once)
     * by the engine while the prompts are retried and, if need be, bisected.
     */
    private void recover(List<InFlight> suspects, Throwable cause) {
        LOG.warn("a generation step failed with {} prompts in the batch; retrying them, then isolating the cause",
                suspects.size(), cause);
        Set<InFlight> held = new HashSet<>(suspects);
        int runs = FaultIsolation.isolate(suspects, group -> runAlone(group, held), (f, why) -> {
            held.remove(f);
            release(f.blocks());
            poison(f.waiting.task, "generation failed on this prompt (also when run alone): " + Failures.describe(why));
        }, () -> running);
        for (InFlight f : held) release(f.blocks());  // shutdown came first: they stay pending in Flink state
        LOG.info("fault isolation finished after {} runs", runs);
    }

    private void poison(PromptTask t, String error) {
        poisonedCount++;
        LOG.warn("prompt {} ({}) poisoned: {}", t.id(), t.uid(), error);
        checkCanary();
        listener.poisoned(t, error);
    }

    /**
     * A one-token generation without memory: if even that fails, the fault is in the engine (a
     * broken native library, exhausted native memory), not in the prompt, and the subtask must fail.
     */
    private void checkCanary() {
        int bos = anchor.config().bosTokenId() >= 0 ? anchor.config().bosTokenId() : 0;
        try (BatchGenerator g = newGenerator()) {
            g.submit(GenerationRequest.plain("canary", new int[] {bos}, SamplingParams.greedy(1)));
            while (!g.isIdle()) {
                probe.beforeStep(Set.of("canary"));
                g.step();
            }
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            throw new IllegalStateException("the generation engine is broken: a one-token canary failed too", e);
        }
    }

    /** Runs {@code group} to completion in a fresh generator, answering each prompt as it finishes. */
    private FaultIsolation.Outcome<InFlight> runAlone(List<InFlight> group, Set<InFlight> held) {
        Map<String, InFlight> left = new LinkedHashMap<>();
        BatchGenerator g = null;
        try {
            g = newGenerator();
            for (InFlight f : group) {
                for (MemoryBlock b : f.blocks()) b.retain();  // the generator's own hold, released when it ends
                left.put(f.uid(), f);
                g.submit(request(f.waiting.task, f.blocks()));
            }
            while (!g.isIdle() && running) {
                probe.beforeStep(left.keySet());
                for (Completion c : g.step()) {
                    InFlight f = left.remove(c.id());
                    held.remove(f);
                    release(f.blocks());
                    answer(f, c);
                }
            }
            discard(g);
            return FaultIsolation.Outcome.done();
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            if (g != null) discard(g);
            return new FaultIsolation.Outcome<>(new ArrayList<>(left.values()), e);
        }
    }

    /** Closes a generator that may be in any state; it releases the blocks of its sequences. */
    private static void discard(BatchGenerator g) {
        try {
            g.close();
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            LOG.warn("discarding a failed generator left resources behind", e);
        }
    }

    private static void release(List<MemoryBlock> blocks) {
        for (MemoryBlock b : blocks) b.release();
    }

    private void drain(List<Waiting> waiting, boolean block) throws InterruptedException {
        PromptTask t = block ? incoming.poll(50, TimeUnit.MILLISECONDS) : incoming.poll();
        while (t != null) {
            waiting.add(prefetch(t));
            t = incoming.poll();
        }
    }

    /** Starts loading the prompt's blocks right away, long before it can join the batch. */
    private Waiting prefetch(PromptTask t) {
        if (bank == null || t.path().equals("none")) {
            return new Waiting(t, CompletableFuture.completedFuture(List.of()), 0);
        }
        List<BlockId> ids;
        try {
            ids = t.path().equals("generic") ? List.of(BlockId.GENERIC) : bank.blocksFor(MemoryPath.parse(t.path()));
        } catch (RuntimeException e) {
            return new Waiting(t, CompletableFuture.failedFuture(e), 0);
        }
        int misses = 0;
        for (BlockId id : ids) if (!cache.isCached(id)) misses++;
        return new Waiting(t, cache.acquire(ids), misses);
    }

    private void admit(List<Waiting> waiting, Map<String, InFlight> inFlight, BatchGenerator generator) {
        if (waiting.isEmpty()) return;
        long now = System.nanoTime();
        List<BatchScheduler.Candidate> cands = new ArrayList<>(waiting.size());
        for (Waiting w : waiting) {
            boolean ready = w.blocks.isDone();
            if (ready && w.readyNanos == 0) w.readyNanos = now;
            cands.add(new BatchScheduler.Candidate(w.task.path(), w.arrivalNanos, ready));
        }
        Set<String> runningPaths = new HashSet<>();
        for (InFlight f : inFlight.values()) runningPaths.add(f.waiting.task.path());
        int free = config.maxBatch() - generator.runningCount() - generator.waitingCount();
        List<Integer> picked = BatchScheduler.pick(cands, runningPaths, free, config.maxPathsPerBatch(), now,
                TimeUnit.MILLISECONDS.toNanos(config.maxWaitMs()));
        for (int k = picked.size() - 1; k >= 0; k--) {
            Waiting w = waiting.remove((int) picked.get(k));
            start(w, inFlight, generator, now);
        }
    }

    private void start(Waiting w, Map<String, InFlight> inFlight, BatchGenerator generator, long now) {
        PromptTask t = w.task;
        List<MemoryBlock> blocks;
        try {
            blocks = w.blocks.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            listener.result(t.uid(), ResultRecord.error(t.id(), RecordLimits.error("memory " + t.path() + " unavailable: "
                    + Failures.describe(cause)), t.client(), t.createdAt(), anchor.fingerprint()));
            return;
        }
        try {
            generator.submit(request(t, blocks));
        } catch (IllegalArgumentException e) {
            release(blocks);
            poison(t, e.getMessage());
            return;
        }
        metrics.queued((now - w.arrivalNanos) / 1e6);
        inFlight.put(t.uid(), new InFlight(w, blocks, now, blocks.size() - w.misses));
    }

    private static GenerationRequest request(PromptTask t, List<MemoryBlock> blocks) {
        SamplingParams params = new SamplingParams(t.maxNewTokens(), t.temperature(), t.topK(), t.topP(), t.seed(),
                List.of(t.stop()), false);
        return new GenerationRequest(t.uid(), t.tokens(), params, blocks, t.path());
    }

    private void awaitAnyReady(List<Waiting> waiting) throws InterruptedException {
        CompletableFuture<?>[] fs = new CompletableFuture[waiting.size()];
        for (int i = 0; i < fs.length; i++) fs[i] = waiting.get(i).blocks;
        try {
            CompletableFuture.anyOf(fs).get(20, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // a failed load is reported when the prompt is admitted; a timeout just re-checks input
        }
    }

    private ResultRecord result(InFlight f, Completion c) {
        PromptTask t = f.waiting.task;
        long now = System.currentTimeMillis();
        double[] ms = new double[6];
        ms[ResultRecord.QUEUE] = (f.admitNanos - f.waiting.arrivalNanos) / 1e6;
        ms[ResultRecord.ROUTE] = t.routeMs();
        ms[ResultRecord.MEMORY_LOAD] = f.waiting.misses == 0 ? 0 : Math.max(0, (f.waiting.readyNanos - f.waiting.arrivalNanos) / 1e6);
        // The generator's clock starts at submit, which is admission here.
        ms[ResultRecord.FIRST_TOKEN] = c.firstTokenNanos() / 1e6;
        ms[ResultRecord.GENERATE] = c.totalNanos() / 1e6;
        ms[ResultRecord.END_TO_END] = Math.max(0, now - t.createdAt());
        metrics.firstToken(ms[ResultRecord.FIRST_TOKEN] + ms[ResultRecord.QUEUE]);
        metrics.endToEnd(ms[ResultRecord.END_TO_END]);
        return new ResultRecord(t.id(), c.text(), c.promptTokens(), c.tokens(), c.memoryLabel(),
                c.finishReason().name().toLowerCase(java.util.Locale.ROOT), anchor.fingerprint(), bankVersion, ms,
                f.hits, f.waiting.misses, null, t.client(), t.createdAt(), now);
    }

    /**
     * Stops the engine thread after its current step and the block loaders after their current
     * read, waits for both however long that takes (an interrupt is remembered, not obeyed: freeing
     * native memory that a step still reads would crash the process), then frees the cache.
     */
    @Override
    public void close() {
        running = false;
        boolean interrupted = false;
        interrupted |= joinFully(thread);
        loaders.shutdownNow();
        while (!loaders.isTerminated()) {
            try {
                if (!loaders.awaitTermination(10, TimeUnit.SECONDS)) LOG.warn("waiting for block loaders to stop");
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        try {
            if (cache != null) cache.close();
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** Joins {@code t} until it has ended; returns whether an interrupt arrived meanwhile. */
    private static boolean joinFully(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join(10_000);
                if (t.isAlive()) LOG.warn("waiting for {} to finish its step", t.getName());
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        return interrupted;
    }
}
