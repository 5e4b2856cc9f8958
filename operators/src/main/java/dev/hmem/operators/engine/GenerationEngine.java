package dev.hmem.operators.engine;

import dev.hmem.model.anchor.Anchor;
import dev.hmem.model.generate.BatchGenerator;
import dev.hmem.model.generate.Completion;
import dev.hmem.model.generate.GenerationRequest;
import dev.hmem.model.generate.SamplingParams;
import dev.hmem.model.memory.BlockId;
import dev.hmem.model.memory.MemoryBank;
import dev.hmem.model.memory.MemoryBlock;
import dev.hmem.model.memory.MemoryPath;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subtask's generation: its own anchor copy, block cache and continuous-batching generator,
 * driven by a dedicated thread so the Flink task thread only hands prompts in and results out
 * (the pattern of Flink's async I/O operator). Prompts start loading their blocks the moment they
 * arrive (prefetch); the {@link BatchScheduler} admits the ones whose blocks are ready, favouring
 * paths already in the batch; finished answers go to {@code onResult} from the engine thread.
 */
public final class GenerationEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationEngine.class);

    private final ServingConfig config;
    private final EngineMetrics metrics;
    /** (prompt uid, result), called on the engine thread. */
    private final BiConsumer<String, ResultRecord> onResult;
    /** Called once, on the engine thread, if the engine dies. */
    private final java.util.function.Consumer<Throwable> onFailure;
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

    /** What the engine remembers about a sequence in the generator, for its result. */
    private record InFlight(Waiting waiting, long admitNanos, int hits) {}

    public GenerationEngine(ServingConfig config, MemoryBank bank, Anchor anchor, EngineMetrics metrics,
                            BiConsumer<String, ResultRecord> onResult, java.util.function.Consumer<Throwable> onFailure,
                            String threadName) {
        this.config = config;
        this.metrics = metrics;
        this.onResult = onResult;
        this.onFailure = onFailure;
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

    public BlockCache cache() {
        return cache;
    }

    private void run() {
        try (BatchGenerator generator = new BatchGenerator(anchor.transformer(), anchor.tokenizer()::decode,
                config.maxBatch(), config.context() > 0 ? config.context() : anchor.config().maxPositions(), 2048)
                .maxDistinctPaths(config.maxPathsPerBatch())
                .prefillGrouping(config.prefillMinFreeSlots(), config.prefillMaxDelayMs())) {
            List<Waiting> waiting = new ArrayList<>();
            Map<String, InFlight> inFlight = new HashMap<>();
            while (running) {
                drain(waiting, generator.isIdle() && waiting.isEmpty());
                admit(waiting, inFlight, generator);
                queuedCount = waiting.size();
                if (generator.isIdle()) {
                    if (!waiting.isEmpty()) awaitAnyReady(waiting);
                    continue;
                }
                List<Completion> done = generator.step();
                batchRows = generator.lastStep().decodeRows();
                if (batchRows > 0) metrics.batch(batchRows);
                for (Completion c : done) {
                    InFlight f = inFlight.remove(c.id());
                    metrics.tokens(c.tokens().length);
                    onResult.accept(f.waiting.task.uid(), result(f, c));
                }
            }
            generator.cancelAll();
        } catch (Throwable t) {
            failure = t;
            LOG.error("generation engine failed", t);
            onFailure.accept(t);
        }
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
            onResult.accept(t.uid(), ResultRecord.error(t.id(), "memory " + t.path() + " unavailable: " + cause.getMessage(),
                    t.client(), t.createdAt(), anchor.fingerprint()));
            return;
        }
        SamplingParams params = new SamplingParams(t.maxNewTokens(), t.temperature(), t.topK(), t.topP(), t.seed(),
                List.of(t.stop()), false);
        try {
            generator.submit(new GenerationRequest(t.uid(), t.tokens(), params, blocks, t.path()));
        } catch (IllegalArgumentException e) {
            for (MemoryBlock b : blocks) b.release();
            onResult.accept(t.uid(), ResultRecord.error(t.id(), e.getMessage(), t.client(), t.createdAt(), anchor.fingerprint()));
            return;
        }
        metrics.queued((now - w.arrivalNanos) / 1e6);
        inFlight.put(t.uid(), new InFlight(w, now, blocks.size() - w.misses));
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

    @Override
    public void close() throws Exception {
        running = false;
        thread.join(10_000);
        loaders.shutdownNow();
        if (cache != null) cache.close();
    }
}
