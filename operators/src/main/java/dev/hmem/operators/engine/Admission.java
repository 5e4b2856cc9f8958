package dev.hmem.operators.engine;

import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.generate.BatchGenerator;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;

/**
 * The prompts in front of the generator: each starts loading its memory blocks the moment it arrives (prefetch),
 * long before it can join the batch, and the {@link BatchScheduler} picks which ready ones join when slots free up.
 * A prompt whose path has a quarantined block joins with the path's healthy prefix (its result says so, and a dead
 * letter reports the block); one whose deadline passes before it joins is answered "overloaded". Used by the engine
 * thread alone.
 */
final class Admission {

    private final ServingConfig config;
    private final MemoryBank bank;
    private final BlockCache cache;
    private final EngineMetrics metrics;
    private final Answers answers;
    /** A prompt the generator refuses outright (its request is invalid): poisoned with the reason. */
    private final BiConsumer<PromptTask, String> refuse;
    private final GenerationEngine.Listener listener;
    private final List<PendingPrompt> waiting = new ArrayList<>();
    /** Waiting prompts whose prefetch waits for room in the cache budget. */
    private int deferred;

    Admission(ServingConfig config, MemoryBank bank, BlockCache cache, EngineMetrics metrics, Answers answers,
              BiConsumer<PromptTask, String> refuse, GenerationEngine.Listener listener) {
        this.listener = listener;
        this.config = config;
        this.bank = bank;
        this.cache = cache;
        this.metrics = metrics;
        this.answers = answers;
        this.refuse = refuse;
    }

    int size() {
        return waiting.size();
    }

    boolean isEmpty() {
        return waiting.isEmpty();
    }

    /**
     * A routed prompt arrives: its blocks start loading now, unless the blocks prompts hold fill the cache budget (or
     * earlier prompts wait for room: first come, first fetched), in which case its prefetch waits for room.
     */
    void arrive(PromptTask t) {
        if (bank == null || t.path().equals("none")) {
            waiting.add(new PendingPrompt(t, List.of(), CompletableFuture.completedFuture(new BlockCache.PathBlocks(List.of(), null, null)), 0));
            return;
        }
        List<BlockId> ids;
        try {
            ids = t.path().equals("generic") ? List.of(BlockId.GENERIC) : bank.blocksFor(MemoryPath.parse(t.path()));
        } catch (RuntimeException e) {
            waiting.add(new PendingPrompt(t, List.of(), CompletableFuture.failedFuture(e), 0));
            return;
        }
        PendingPrompt w = new PendingPrompt(t, ids, null, 0);
        waiting.add(w);
        if (deferred > 0 || !cache.fits(ids)) {
            deferred++;
            metrics.prefetchDeferred();
        } else {
            fetch(w);
        }
    }

    private void fetch(PendingPrompt w) {
        int misses = 0;
        for (BlockId id : w.ids) if (!cache.isCached(id)) misses++;
        w.misses = misses;
        w.blocks = cache.acquirePath(w.ids);
    }

    /** Starts the deferred prefetches that fit now, oldest first (a newer one does not pass an older one that waits). */
    private void fetchDeferred() {
        for (PendingPrompt w : waiting) {
            if (deferred == 0) return;
            if (!w.deferred()) continue;
            if (!cache.fits(w.ids)) return;
            fetch(w);
            deferred--;
        }
    }

    /**
     * Moves the prompts the scheduler picks into {@code generator} (and {@code running}). A prompt that was in the batch
     * of a step that broke the engine runs alone, before anything else: a broken engine cannot say which prompt broke it,
     * so each suspect gets a batch of its own, and only the one that breaks it again is charged again.
     */
    void admit(Map<String, RunningPrompt> running, BatchGenerator generator) {
        if (waiting.isEmpty()) return;
        expire();
        fetchDeferred();
        for (RunningPrompt f : running.values()) if (f.pending().task.engineFailures() > 0) return;  // a suspect runs alone
        for (int i = 0; i < waiting.size(); i++) {
            PendingPrompt w = waiting.get(i);
            if (w.task.engineFailures() == 0) continue;
            if (generator.isIdle() && w.ready()) start(waiting.remove(i), running, generator, System.nanoTime());
            return;  // nothing joins until the suspects have run
        }
        long now = System.nanoTime();
        List<BatchScheduler.Candidate> cands = new ArrayList<>(waiting.size());
        for (PendingPrompt w : waiting) {
            boolean ready = w.ready();
            if (ready && w.readyNanos == 0) w.readyNanos = now;
            cands.add(new BatchScheduler.Candidate(w.task.path(), w.arrivalNanos, ready));
        }
        Set<String> runningPaths = new HashSet<>();
        for (RunningPrompt f : running.values()) runningPaths.add(f.pending().task.path());
        int free = config.generator().maxBatch() - generator.runningCount() - generator.waitingCount();
        List<Integer> picked = BatchScheduler.pick(cands, runningPaths, free, config.generator().maxDistinctPaths(), now,
                TimeUnit.MILLISECONDS.toNanos(config.maxWaitMs()));
        for (int k = picked.size() - 1; k >= 0; k--) {
            start(waiting.remove((int) picked.get(k)), running, generator, now);
        }
    }

    /** Answers "overloaded" every waiting prompt whose deadline has passed (its blocks released). */
    private void expire() {
        long nowMs = System.currentTimeMillis();
        for (var it = waiting.iterator(); it.hasNext(); ) {
            PendingPrompt w = it.next();
            if (nowMs <= w.task.deadlineAt()) continue;
            it.remove();
            if (w.deferred()) deferred--;
            else w.blocks.thenAccept(pb -> RunningPrompt.release(pb.blocks()));  // now, or once its loads end
            answers.overloaded(w, nowMs);
        }
    }

    private void start(PendingPrompt w, Map<String, RunningPrompt> running, BatchGenerator generator, long now) {
        BlockCache.PathBlocks pb;
        try {
            pb = w.blocks.join();
        } catch (CompletionException e) {
            answers.unavailable(w.task, e.getCause() != null ? e.getCause() : e);
            return;
        }
        List<MemoryBlock> blocks = pb.blocks();
        String label = w.task.path(), fallback = null;
        if (pb.fellBack()) {
            label = blocks.isEmpty() ? "none" : blocks.get(blocks.size() - 1).id().toString();
            fallback = "memory block " + pb.failed() + " (level " + pb.failed().level() + ") unusable: " + pb.reason()
                    + "; routed " + w.task.path() + ", answered with " + label;
            metrics.memoryFallback(pb.failed().level());
            listener.degraded(w.task, fallback);
        }
        try {
            generator.submit(w.request(blocks, label));
        } catch (IllegalArgumentException e) {
            RunningPrompt.release(blocks);
            refuse.accept(w.task, e.getMessage());
            return;
        }
        metrics.queued((now - w.arrivalNanos) / 1e6);
        running.put(w.task.uid(), new RunningPrompt(w, blocks, label, fallback, now, Math.max(0, blocks.size() - w.misses)));
    }

    /** Waits up to 20 ms for any waiting prompt's blocks (a failed load is reported when the prompt is admitted). */
    void awaitAnyReady() throws InterruptedException {
        List<CompletableFuture<?>> loading = new ArrayList<>(waiting.size());
        for (PendingPrompt w : waiting) if (!w.deferred()) loading.add(w.blocks);
        CompletableFuture<?>[] fs = loading.toArray(new CompletableFuture[0]);
        try {
            CompletableFuture.anyOf(fs).get(20, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // a timeout just re-checks input
        }
    }
}
