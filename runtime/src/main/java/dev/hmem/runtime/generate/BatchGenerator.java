package dev.hmem.runtime.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.anchor.JavaDecoder;
import dev.hmem.runtime.anchor.KvCache;
import dev.hmem.runtime.anchor.Transformer;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.ffn.LevelSlabs;
import dev.hmem.runtime.ffn.MemoryBranch;
import dev.hmem.runtime.ffn.MemoryPlan;
import dev.hmem.runtime.ffn.PathMemory;
import dev.hmem.runtime.tensor.TorchThreads;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Continuous batching over one anchor: sequences join the batch between decode steps (their
 * prompts prefilled together) and leave it as soon as they finish, so a long answer never holds a
 * short one back. Every step runs the anchor once for all rows, whatever their memories; the
 * memory branch runs once per distinct block at each tree level ({@link LevelSlabs}).
 *
 * <p>Not thread-safe: one generator belongs to one thread (a Flink subtask, or the CLI).
 */
public final class BatchGenerator implements AutoCloseable {

    /** What one {@link #step()} did, for metrics and benchmarks. */
    public record StepStats(int prefillRows, int prefillTokens, int decodeRows, long nanos) {}

    private final Transformer model;
    private final Function<int[], String> decoder;
    private final KvCache cache;
    private final NDManager manager;
    private final int maxBatch;
    private final int maxPrefillTokens;
    private final Set<Integer> eos;
    private final int vocab;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    /** Invariant: {@code running.get(i)} occupies cache slot i. */
    private final List<Sequence> running = new ArrayList<>();
    /** Assembled memories of the paths in the batch, shared by the sequences on each path. */
    private final Map<List<MemoryBlock>, SharedPath> paths = new HashMap<>();
    /**
     * The blocks of the batch's paths, one slab per level, for one batched GEMM per level and
     * layer; created with the first path. Paths of other block widths use {@link #paths}.
     */
    private LevelSlabs slabs;
    private int maxPaths;
    private StepStats lastStep = new StepStats(0, 0, 0, 0);
    private int maxThreads;
    private JavaDecoder javaDecoder;
    private int javaDecodeMaxRows;
    private long javaDecodeSteps;
    private int currentThreads;
    private int prefillMinFree;
    private long prefillMaxDelayNanos = DEFAULT_PREFILL_MAX_DELAY_MS * 1_000_000L;

    /** How long a waiting sequence may be kept out of a batch more than half full, by default. */
    public static final long DEFAULT_PREFILL_MAX_DELAY_MS = 250;

    /** Free slots that open a batch more than half full to new sequences, by default: a quarter of it. */
    public static int defaultPrefillMinFree(int maxBatch) {
        return Math.max(1, maxBatch / 4);
    }

    private static final class SharedPath {
        final PathMemory memory;
        int users;

        SharedPath(PathMemory memory) {
            this.memory = memory;
        }
    }

    /**
     * @param decoder          token ids to text (for stop strings and the final text)
     * @param maxBatch         sequences decoded together at most (KV cache slots)
     * @param context          tokens per sequence at most (prompt + generated), capped by the model
     * @param maxPrefillTokens prompt tokens prefilled in one step at most (bounds step latency)
     */
    public BatchGenerator(Transformer model, Function<int[], String> decoder, int maxBatch, int context,
                          int maxPrefillTokens) {
        if (maxBatch < 1) throw new IllegalArgumentException("max batch must be >= 1, got " + maxBatch);
        if (maxPrefillTokens < 1) throw new IllegalArgumentException("max prefill tokens must be >= 1");
        this.model = model;
        this.decoder = decoder;
        this.maxBatch = maxBatch;
        this.maxPrefillTokens = maxPrefillTokens;
        int capacity = Math.min(context, model.config().maxPositions());
        this.manager = model.weights().manager.newSubManager();
        this.cache = new KvCache(model.config(), maxBatch, capacity, manager);
        this.eos = new HashSet<>(model.config().eosTokenIds());
        this.vocab = model.config().vocabSize();
        this.maxPaths = maxBatch;
        this.prefillMinFree = defaultPrefillMinFree(maxBatch);
    }

    /**
     * When a batch more than half full may take in waiting sequences: once {@code minFreeSlots}
     * slots are free, or the oldest waiting sequence has waited {@code maxDelayMillis}. A prefill is
     * a forward pass of its own (every weight streamed once more), so under load admitting one
     * sequence per step as slots free up nearly doubles the time per output token; grouping
     * admissions spreads that cost over several new sequences. A batch at most half full admits at
     * once, so an idle system keeps its latency. Defaults: a quarter of the batch, 250 ms;
     * {@code (1, 0)} admits whenever a slot is free.
     */
    public BatchGenerator prefillGrouping(int minFreeSlots, long maxDelayMillis) {
        if (minFreeSlots < 1) throw new IllegalArgumentException("prefill min free slots must be >= 1, got " + minFreeSlots);
        if (maxDelayMillis < 0) throw new IllegalArgumentException("prefill max delay must be >= 0 ms, got " + maxDelayMillis);
        this.prefillMinFree = Math.min(minFreeSlots, maxBatch);
        this.prefillMaxDelayNanos = maxDelayMillis * 1_000_000L;
        return this;
    }

    /**
     * Distinct memory blocks per level in the batch at most (sizes the level slabs: capacity × 3R
     * × d × L floats for a path width R); sequences needing a further block wait until one leaves.
     * Defaults to the batch size.
     */
    public BatchGenerator maxDistinctPaths(int paths) {
        if (paths < 1) throw new IllegalArgumentException("max distinct paths must be >= 1");
        if (slabs != null) throw new IllegalStateException("set before the first path is admitted");
        this.maxPaths = Math.min(paths, maxBatch);
        return this;
    }

    /** Tokens one sequence may span (prompt plus generated). */
    public int context() {
        return cache.capacity();
    }

    public int maxBatch() {
        return maxBatch;
    }

    public int runningCount() {
        return running.size();
    }

    public int waitingCount() {
        return waiting.size();
    }

    public boolean isIdle() {
        return running.isEmpty() && waiting.isEmpty();
    }

    public StepStats lastStep() {
        return lastStep;
    }

    /**
     * The tokens generated so far by each running sequence whose id {@code wanted} accepts, as a read-only view valid
     * until the next step (no copy: a caller streaming between steps copies only what it sends). Sequences finished
     * in the last step are not running any more.
     */
    public void forEachRunning(java.util.function.Predicate<String> wanted,
                               java.util.function.BiConsumer<String, java.nio.IntBuffer> tokens) {
        for (Sequence s : running) {
            if (s.finish == null && wanted.test(s.request.id())) {
                tokens.accept(s.request.id(), java.nio.IntBuffer.wrap(s.generated, 0, s.generatedCount).asReadOnlyBuffer());
            }
        }
    }

    /** Steps of at least this many rows (prompt tokens count as rows) use all intra-op threads; smaller ones one. */
    static final int PARALLEL_BATCH = 16;

    /**
     * Lets the generator size PyTorch's (process-wide) intra-op pool per step: one thread below
     * {@value #PARALLEL_BATCH} rows, where waking a second thread for each small kernel costs more
     * than it gains (measured: batch 1 decodes ~1.8x faster on one thread here), and
     * {@code threads} above. Only for a process that runs a single generator (CLI, benchmarks);
     * 0 leaves the pool alone.
     */
    public void autoThreads(int threads) {
        this.maxThreads = threads;
    }

    private void sizeThreads(int rows) {
        if (maxThreads <= 0) return;
        int want = rows >= PARALLEL_BATCH ? maxThreads : 1;
        if (want != currentThreads) {
            TorchThreads.set(want);
            currentThreads = want;
        }
    }

    /**
     * Decodes steps of at most {@code maxRows} rows with {@code decoder} (the Java SIMD path)
     * instead of PyTorch: at small batches a PyTorch decode step is dominated by dispatching a
     * few hundred small operations, the Java path by reading the weights once. Larger steps and
     * every prefill stay with PyTorch; the two share the KV cache. The generator closes the decoder.
     */
    public BatchGenerator javaDecode(JavaDecoder decoder, int maxRows) {
        if (maxRows < 0) throw new IllegalArgumentException("Java decode rows must be >= 0, got " + maxRows);
        if (javaDecoder != null && javaDecoder != decoder) javaDecoder.close();
        this.javaDecoder = decoder;
        this.javaDecodeMaxRows = maxRows;
        return this;
    }

    /** Decode steps run on the Java path so far. */
    public long javaDecodeSteps() {
        return javaDecodeSteps;
    }

    /** Checks that a prompt of {@code tokens} tokens fits; the message says by how much it does not. */
    public void checkPromptLength(int tokens) {
        if (tokens == 0) {
            throw new PromptTooLongException("prompt is empty: at least one token is needed");
        }
        if (tokens >= cache.capacity()) {
            throw new PromptTooLongException("prompt has " + tokens + " tokens but the context holds "
                    + cache.capacity() + " (prompt plus at least one generated token)");
        }
    }

    /**
     * Queues a request; it joins the batch at the next step with a free slot. Token ids outside the
     * vocabulary and prompts that do not fit are refused here, before anything is queued.
     */
    public void submit(GenerationRequest r) {
        checkPromptLength(r.prompt().length);
        for (int t : r.prompt()) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " outside the vocabulary of " + vocab);
            }
        }
        for (MemoryBlock b : r.memory()) {
            if (b.layers() != model.config().numLayers() || b.hiddenSize() != model.config().hiddenSize()) {
                throw new IllegalArgumentException("memory block " + b.id() + " is for " + b.layers()
                        + " layers of width " + b.hiddenSize() + ", the anchor has " + model.config().numLayers()
                        + " of width " + model.config().hiddenSize());
            }
        }
        int maxNew = Math.min(r.params().maxNewTokens(), cache.capacity() - r.prompt().length);
        long seed = r.params().seed() != null ? r.params().seed() : r.id().hashCode();
        waiting.add(new Sequence(r, maxNew, seed, System.nanoTime()));
    }

    /**
     * Admits waiting sequences into free slots (one batched prefill), then decodes one token for
     * every running sequence. Returns the sequences that finished in this step.
     */
    public List<Completion> step() {
        long start = System.nanoTime();
        int prefillRows = 0, prefillTokens = 0, decodeRows = 0;
        List<Completion> done = new ArrayList<>();
        int rows = Math.min(maxBatch, running.size() + waiting.size());
        // A prefill is a GEMM over every prompt token: one 64-token prompt is 64 rows and worth every thread.
        if (admitNow(start)) rows = Math.max(rows, waiting.peekFirst().request.prompt().length);
        sizeThreads(rows);
        try (NDScope scope = new NDScope(); NDManager m = manager.newSubManager()) {
            List<Sequence> admitted = admit();
            if (!admitted.isEmpty()) {
                prefillRows = admitted.size();
                for (Sequence s : admitted) prefillTokens += s.request.prompt().length;
                prefill(admitted, m);
                // A prompt may be answered by its first token alone; free its slot before decoding.
                done.addAll(retire());
            }
            decodeRows = running.size();
            if (decodeRows > 0) decode(m);
        }
        done.addAll(retire());
        lastStep = new StepStats(prefillRows, prefillTokens, decodeRows, System.nanoTime() - start);
        return done;
    }

    private boolean admitNow(long now) {
        if (waiting.isEmpty() || running.size() >= maxBatch) return false;
        return running.size() * 2 <= maxBatch
                || maxBatch - running.size() >= prefillMinFree
                || now - waiting.peekFirst().submitNanos >= prefillMaxDelayNanos;
    }

    private List<Sequence> admit() {
        if (!admitNow(System.nanoTime())) return List.of();
        List<Sequence> admitted = new ArrayList<>();
        int tokens = 0;
        long now = System.nanoTime();
        for (var it = waiting.iterator(); it.hasNext() && running.size() < maxBatch; ) {
            Sequence s = it.next();
            int len = s.request.prompt().length;
            if (!admitted.isEmpty() && tokens + len > maxPrefillTokens) break;
            if (!placeMemory(s)) continue;  // its path waits for a slab slot; later ones may fit
            it.remove();
            s.admitNanos = now;
            tokens += len;
            running.add(s);
            admitted.add(s);
        }
        return admitted;
    }

    private void prefill(List<Sequence> rows, NDManager m) {
        int n = rows.size(), t = 0;
        for (Sequence s : rows) t = Math.max(t, s.request.prompt().length);
        long[] tokens = new long[n * t];
        int[] pos0 = new int[n], lens = new int[n];
        for (int i = 0; i < n; i++) {
            int[] p = rows.get(i).request.prompt();
            for (int j = 0; j < p.length; j++) tokens[i * t + j] = p[j];
            lens[i] = p.length;
        }
        int slot0 = running.size() - n;
        NDArray logits = model.forwardCached(m.create(tokens, new Shape(n, t)), pos0, lens, branch(rows, m), cache, slot0);
        for (int i = 0; i < n; i++) rows.get(i).length = lens[i];
        sampleInto(rows, logits);
    }

    /** One token for every running sequence (none of which is finished). */
    private void decode(NDManager m) {
        List<Sequence> rows = running;
        int n = rows.size();
        if (javaDecoder != null && n <= javaDecodeMaxRows) {
            javaDecodeStep(rows);
            return;
        }
        long[] tokens = new long[n];
        int[] pos0 = new int[n], lens = new int[n];
        for (int i = 0; i < n; i++) {
            Sequence s = rows.get(i);
            tokens[i] = s.nextToken;
            pos0[i] = s.length;
            lens[i] = 1;
        }
        NDArray logits = model.forwardCached(m.create(tokens, new Shape(n, 1)), pos0, lens, branch(rows, m), cache, 0);
        for (Sequence s : rows) s.length++;
        sampleInto(new ArrayList<>(rows), logits);
    }

    private void javaDecodeStep(List<Sequence> rows) {
        int n = rows.size();
        int[] tokens = new int[n], positions = new int[n];
        List<List<MemoryBlock>> memory = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Sequence s = rows.get(i);
            tokens[i] = s.nextToken;
            positions[i] = s.length;
            // A path's blocks side by side are the same neurons as the path assembled into one
            // memory (slab or PathMemory): SwiGLU neurons are independent, their outputs add.
            memory.add(s.request.memory());
        }
        float[] logits = javaDecoder.decode(tokens, positions, memory, cache);
        javaDecodeSteps++;
        for (Sequence s : rows) s.length++;
        sampleInto(new ArrayList<>(rows), logits);
    }

    /** Picks each row's next token from logits (n, V) and applies the stopping rules. */
    private void sampleInto(List<Sequence> rows, NDArray logits) {
        boolean allGreedy = true;
        for (Sequence s : rows) allGreedy &= s.request.params().isGreedy();
        if (allGreedy) {
            long[] arg = logits.argMax(-1).toLongArray();
            int[] next = new int[rows.size()];
            for (int i = 0; i < next.length; i++) next[i] = (int) arg[i];
            acceptAll(rows, next);
        } else {
            sampleInto(rows, logits.toFloatArray());
        }
    }

    private void sampleInto(List<Sequence> rows, float[] all) {
        int[] next = new int[rows.size()];
        for (int i = 0; i < next.length; i++) {
            Sequence s = rows.get(i);
            next[i] = Sampler.sample(all, i * vocab, vocab, s.request.params(), s.random);
        }
        acceptAll(rows, next);
    }

    private void acceptAll(List<Sequence> rows, int[] next) {
        long now = System.nanoTime();
        for (int i = 0; i < next.length; i++) accept(rows.get(i), next[i], now);
    }

    private void accept(Sequence s, int token, long now) {
        if (s.generatedCount == 0) s.firstTokenNanos = now;
        SamplingParams p = s.request.params();
        if (eos.contains(token) && !p.ignoreEos()) {
            s.finish = FinishReason.EOS;
            return;
        }
        s.append(token);
        s.nextToken = token;
        if (!p.stopStrings().isEmpty()) {
            String text = decoder.apply(s.generatedTokens());
            int cut = -1;
            for (String stop : p.stopStrings()) {
                int at = text.indexOf(stop);
                if (at >= 0 && (cut < 0 || at < cut)) cut = at;
            }
            if (cut >= 0) {
                s.finish = FinishReason.STOP;
                s.stoppedText = text.substring(0, cut);
                return;
            }
        }
        if (s.generatedCount >= p.maxNewTokens()) {
            s.finish = FinishReason.LENGTH;
        } else if (s.generatedCount >= s.maxNew || s.length + 1 >= cache.capacity()) {
            s.finish = FinishReason.CONTEXT;
        }
    }

    /** Removes finished sequences, keeping running rows in slots 0..n-1. */
    private List<Completion> retire() {
        List<Completion> done = new ArrayList<>();
        long now = System.nanoTime();
        for (int i = 0; i < running.size(); ) {
            Sequence s = running.get(i);
            if (s.finish == null) {
                i++;
                continue;
            }
            int last = running.size() - 1;
            if (i != last) {
                Sequence moved = running.get(last);
                cache.moveSlot(last, i, moved.length);
                running.set(i, moved);
            }
            running.remove(last);
            releaseMemory(s);
            done.add(complete(s, now));
        }
        return done;
    }

    /**
     * Gives a row the memory it computes with: none, its single block, slots of the level slabs,
     * or (a path of other block widths) its blocks assembled into a {@link PathMemory} shared by
     * every sequence on that path. False when a level slab is full and lacks the path's block.
     */
    private boolean placeMemory(Sequence s) {
        List<MemoryBlock> blocks = s.request.memory();
        if (blocks.isEmpty()) return true;
        if (blocks.size() == 1) {
            // A lone block (a generic memory, a depth-1 path) is computed per group of rows; it
            // may be wider than any level's block and must not set a level slab's width.
            s.rowMemory = blocks.get(0);
            return true;
        }
        if (slabs == null) slabs = new LevelSlabs(model.config().numLayers(), model.config().hiddenSize(), maxPaths, manager);
        if (slabs.fits(blocks)) {
            if (!slabs.hasRoomFor(blocks)) return false;
            slabs.acquire(blocks);
            s.slabPath = blocks;
            return true;
        }
        SharedPath p = paths.computeIfAbsent(blocks,
                k -> new SharedPath(new PathMemory(k, model.config().numLayers(), manager)));
        p.users++;
        s.rowMemory = p.memory;
        return true;
    }

    /** The memory branch of a forward pass over {@code rows}. */
    private MemoryBranch branch(List<Sequence> rows, NDManager m) {
        List<List<MemoryBlock>> inSlabs = new ArrayList<>(rows.size());
        List<List<FfnMemory>> others = new ArrayList<>(rows.size());
        boolean anyOther = false;
        for (Sequence s : rows) {
            inSlabs.add(s.slabPath != null ? s.slabPath : List.of());
            others.add(s.memoryList());
            anyOther |= s.rowMemory != null;
        }
        MemoryBranch fromSlabs = slabs == null ? MemoryBranch.NONE : slabs.plan(inSlabs, m);
        return anyOther ? MemoryBranch.sum(fromSlabs, MemoryPlan.of(others, m)) : fromSlabs;
    }

    private void releaseMemory(Sequence s) {
        List<MemoryBlock> blocks = s.request.memory();
        if (s.slabPath != null) {
            slabs.release(s.slabPath);
            s.slabPath = null;
        } else if (s.rowMemory != null && blocks.size() > 1) {
            SharedPath p = paths.get(blocks);
            if (--p.users == 0) {
                paths.remove(blocks);
                p.memory.close();
            }
        }
        s.rowMemory = null;
        s.releaseMemory();
    }

    /** Native bytes of assembled memories currently held (the level slabs count whole). */
    public long assembledBytes() {
        long b = slabs == null ? 0 : slabs.bytes();
        for (SharedPath p : paths.values()) b += p.memory.bytes();
        return b;
    }

    private Completion complete(Sequence s, long now) {
        int[] toks = s.generatedTokens();
        String text = s.stoppedText != null ? s.stoppedText : decoder.apply(toks);
        return new Completion(s.request.id(), toks, text, s.request.prompt().length, s.finish,
                s.request.memoryLabel(), s.admitNanos - s.submitNanos, s.firstTokenNanos - s.submitNanos,
                now - s.submitNanos);
    }

    /** Drops every queued and running sequence (their memory released); for shutdown. */
    public void cancelAll() {
        for (Sequence s : waiting) releaseMemory(s);
        for (Sequence s : running) releaseMemory(s);
        waiting.clear();
        running.clear();
    }

    @Override
    public void close() {
        cancelAll();
        if (javaDecoder != null) javaDecoder.close();
        if (slabs != null) slabs.close();
        manager.close();
    }
}
