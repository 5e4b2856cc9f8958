package dev.hmem.operators.engine;

import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subtask's generation: its own anchor copy, block cache and continuous-batching generator, driven by a
 * dedicated thread so the Flink task thread only hands prompts in and results out (the pattern of Flink's async I/O
 * operator). The parts, each in its own file: {@link Admission} (prefetch on arrival, then the scheduler's picks),
 * {@link StepRecovery} (retry, bisect and canary after a failed step), {@link Answers} (result records), and this
 * class: the thread, its loop and shutdown.
 *
 * <p>{@link #close()} stops the engine thread and the block loaders and waits for both to finish, whatever interrupts
 * arrive, before the cache's native memory is freed; only then may the owner close the bank and the anchor.
 */
public final class GenerationEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationEngine.class);

    /** What the engine reports, on its own thread. */
    public interface Listener {
        /** The answer to a prompt (an error result when its memory could not be loaded). */
        void result(String uid, ResultRecord result);

        /** A prompt the generator failed on even alone: answer it with {@code error} and dead-letter it. */
        void poisoned(PromptTask task, String error);

        /**
         * A prompt is answered with less memory than routed ({@code why}: which block failed, what it is answered
         * with): report it for the dead letters; its result follows as usual.
         */
        default void degraded(PromptTask task, String why) {}

        /** A streaming prompt's text so far (its result follows as usual once it is done). */
        default void partial(PromptTask task, dev.hmem.operators.records.PartialResult partial) {}

        /**
         * The engine stopped for good; every prompt not yet answered stays unanswered. {@code batch}: the prompts in
         * the step that broke it (a canary failed too), which a bounded-attempts rule may hold responsible.
         */
        void failed(Throwable cause, List<PromptTask> batch);
    }

    /**
     * Fault injection for tests: runs on the engine thread before every step with the uids in the generator.
     * Serializable, since the operator that carries it is shipped with the job.
     */
    public interface StepProbe extends java.io.Serializable {
        void beforeStep(Set<String> uids) throws Exception;

        StepProbe NONE = uids -> { };
    }

    private final ServingConfig config;
    private final EngineMetrics metrics;
    private final Listener listener;
    private final StepProbe probe;
    private final Anchor anchor;
    private final LinkedBlockingQueue<PromptTask> incoming = new LinkedBlockingQueue<>();
    private final ExecutorService loaders;
    private final BlockCache cache;
    private final Admission admission;
    private final StepRecovery recovery;
    private final Answers answers;
    private final Streaming streaming;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Throwable failure;
    private volatile int queuedCount;
    private volatile int batchRows;
    /** The prompts of the batch being recovered after a failed step, or of the running batch; engine thread only. */
    private List<RunningPrompt> suspects = List.of();

    /** Built by {@code ServingModel.engine}, which opens and checks the anchor and bank. */
    public GenerationEngine(ServingConfig config, MemoryBank bank, Anchor anchor, EngineMetrics metrics,
                            Listener listener, StepProbe probe, String threadName) {
        this.config = config;
        this.metrics = metrics;
        this.listener = listener;
        this.probe = probe;
        this.anchor = anchor;
        this.loaders = Executors.newFixedThreadPool(config.loaderThreads(), r -> {
            Thread t = new Thread(r, threadName + "-loader");
            t.setDaemon(true);
            return t;
        });
        this.cache = bank == null ? null
                : new BlockCache(bank, config.cacheBytes(), config.pinnedLevels(), config.quarantineMs(), loaders, metrics);
        this.answers = new Answers(anchor.fingerprint(), bank, metrics, listener);
        this.streaming = new Streaming(config, anchor.tokenizer()::decode, listener);
        int bos = anchor.config().bosTokenId() >= 0 ? anchor.config().bosTokenId() : 0;
        this.recovery = new StepRecovery(this::newGenerator, probe, answers, listener, () -> running, bos);
        this.admission = new Admission(config, bank, cache, metrics, answers, recovery::poison, listener);
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
        return recovery.poisoned();
    }

    public BlockCache cache() {
        return cache;
    }

    /** Whether the engine thread is still alive (false once {@link #close()} returned). */
    public boolean isAlive() {
        return thread.isAlive();
    }

    private BatchGenerator newGenerator() {
        return config.generator().open(anchor.transformer(), anchor.tokenizer()::decode);
    }

    private void run() {
        BatchGenerator generator = null;
        try {
            generator = newGenerator();
            Map<String, RunningPrompt> inFlight = new LinkedHashMap<>();
            while (running) {
                drain(generator.isIdle() && admission.isEmpty());
                admission.admit(inFlight, generator);
                queuedCount = admission.size();
                if (generator.isIdle()) {
                    if (!admission.isEmpty()) admission.awaitAnyReady();
                    continue;
                }
                List<Completion> done;
                try {
                    probe.beforeStep(inFlight.keySet());
                    done = generator.step();
                } catch (Throwable e) {
                    Failures.rethrowIfFatal(e);
                    // Hold every prompt's blocks here: discarding the generator releases its holds.
                    for (RunningPrompt f : inFlight.values()) RunningPrompt.retain(f.blocks());
                    StepRecovery.discard(generator);
                    generator = null;
                    suspects = new ArrayList<>(inFlight.values());
                    recovery.recover(suspects, e);
                    suspects = List.of();
                    inFlight.clear();
                    generator = newGenerator();
                    continue;
                }
                BatchGenerator.StepStats last = generator.lastStep();
                batchRows = last.decodeRows();
                if (batchRows > 0) metrics.batch(batchRows);
                metrics.step(last.prefillRows(), last.decodeRows(), last.nanos());
                for (Completion c : done) answers.completed(inFlight.remove(c.id()), c);
                streaming.afterStep(generator, inFlight);
            }
        } catch (Throwable t) {
            if (running) {
                failure = t;
                LOG.error("generation engine failed", t);
                try {
                    List<PromptTask> batch = new ArrayList<>();
                    for (RunningPrompt f : suspects) batch.add(f.pending().task);
                    listener.failed(t, batch);
                } catch (Throwable ignored) {
                    // the owner is shutting down: nobody is left to tell
                }
            }
        } finally {
            // Native memory of the generator is freed on the thread that used it, before close() returns.
            if (generator != null) StepRecovery.discard(generator);
        }
    }

    /** Moves arrived prompts to the admission (waiting up to 50 ms for one when there is nothing else to do). */
    private void drain(boolean block) throws InterruptedException {
        PromptTask t = block ? incoming.poll(50, TimeUnit.MILLISECONDS) : incoming.poll();
        while (t != null) {
            admission.arrive(t);
            t = incoming.poll();
        }
    }

    /**
     * Stops the engine thread after its current step and the block loaders after their current read, waits for both
     * however long that takes (an interrupt is remembered, not obeyed: freeing native memory that a step still reads
     * would crash the process), then frees the cache.
     */
    @Override
    public void close() {
        running = false;
        boolean interrupted = joinFully(thread);
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
