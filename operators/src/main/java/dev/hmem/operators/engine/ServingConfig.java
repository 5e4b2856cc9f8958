package dev.hmem.operators.engine;

import dev.hmem.operators.records.RecordLimits;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.tensor.WeightFormat;
import java.io.Serializable;

/**
 * What the serving operators need to know, validated once: the model and bank, request limits,
 * batching, the block cache and routing. Built by the job from its options and handed to each
 * operator's constructor.
 *
 * @param bankDir            bank location (local path or any Flink file system URI); null = anchor only
 * @param context            tokens per sequence (prompt + generated); 0 = the model's maximum
 * @param limits             sizes of the parts of a request (and so of results and dead letters)
 * @param maxBatch           sequences decoded together at most per subtask
 * @param maxPathsPerBatch   distinct memory paths in one batch at most (bounds memory-branch work)
 * @param maxQueued          prompts buffered per subtask before the input is back-pressured
 * @param maxWaitMs          a prompt queued this long is admitted before cache-friendlier ones
 * @param prefillMinFree     a batch more than half full admits new prompts once this many slots are free
 *                           (0 = a quarter of max batch), so prefills are grouped under load
 * @param prefillMaxDelayMs  ... or once the oldest admitted-but-waiting prompt has waited this long
 * @param cacheBytes         budget of the block cache for evictable blocks (pinned levels are extra)
 * @param pinnedLevels       levels 1..pinnedLevels (and the generic memory) are never evicted
 * @param loaderThreads      threads reading blocks from the bank (prefetch)
 * @param torchThreads       PyTorch intra-op threads per subtask (and the Java decode path's threads)
 * @param javaDecodeRows     decode steps of at most this many rows run on the Java SIMD path instead of
 *                           PyTorch, when the JVM has the Vector API (0 = never)
 * @param weightFormat       how that path holds the anchor's matrices: f32 (the checkpoint's), or bf16
 *                           (half the bytes a small-batch step streams; accuracy in docs/BENCHMARKS.md)
 * @param javaBlockCopyBytes heap copies of memory blocks that path keeps (it reads arrays about twice as
 *                           fast as native memory on Java 17), least recently used dropped first
 * @param routeBatch         prompts embedded together by the router at most
 * @param routeTimeoutMs     a partial routing batch is flushed after this long
 * @param affinityRouting    false = round-robin (the naive baseline of the benchmarks)
 * @param generateParallelism subtasks of the generate operator (routing targets them)
 * @param maxParallelism     the job's max parallelism (key groups)
 */
public record ServingConfig(
        String modelDir, String bankDir, int context, int defaultMaxNewTokens, int maxNewTokensLimit, RecordLimits limits,
        int maxBatch, int maxPathsPerBatch, int maxQueued, long maxWaitMs, int prefillMinFree, long prefillMaxDelayMs,
        long cacheBytes, int pinnedLevels, int loaderThreads, int torchThreads, int javaDecodeRows, WeightFormat weightFormat,
        long javaBlockCopyBytes, int routeBatch, long routeTimeoutMs, boolean affinityRouting, int generateParallelism, int maxParallelism)
        implements Serializable {

    public ServingConfig {
        require(modelDir != null && !modelDir.isBlank(), "model directory is required");
        require(context >= 0, "context must be >= 0 (0 = the model's), got %s", context);
        require(defaultMaxNewTokens >= 1 && defaultMaxNewTokens <= maxNewTokensLimit,
                "default max new tokens must be in [1, %s], got %s", maxNewTokensLimit, defaultMaxNewTokens);
        require(limits != null, "record limits are required");
        require(maxBatch >= 1 && maxBatch <= 1024, "max batch must be in [1, 1024], got %s", maxBatch);
        require(maxPathsPerBatch >= 1, "max paths per batch must be >= 1, got %s", maxPathsPerBatch);
        require(maxQueued >= 1, "max queued must be >= 1, got %s", maxQueued);
        require(maxWaitMs >= 0, "max wait must be >= 0 ms, got %s", maxWaitMs);
        require(prefillMinFree >= 0 && prefillMinFree <= maxBatch,
                "prefill min free slots must be in [0, max batch %s], got %s", maxBatch, prefillMinFree);
        require(prefillMaxDelayMs >= 0, "prefill max delay must be >= 0 ms, got %s", prefillMaxDelayMs);
        require(cacheBytes >= 0, "cache budget must be >= 0 bytes, got %s", cacheBytes);
        require(pinnedLevels >= 0, "pinned levels must be >= 0, got %s", pinnedLevels);
        require(loaderThreads >= 1, "loader threads must be >= 1, got %s", loaderThreads);
        require(torchThreads >= 1, "torch threads must be >= 1, got %s", torchThreads);
        require(javaDecodeRows >= 0, "Java decode rows must be >= 0, got %s", javaDecodeRows);
        require(weightFormat != null, "weight format is required");
        require(javaBlockCopyBytes >= 0, "Java block copy budget must be >= 0 bytes, got %s", javaBlockCopyBytes);
        require(routeBatch >= 1, "route batch must be >= 1, got %s", routeBatch);
        require(routeTimeoutMs >= 0, "route timeout must be >= 0 ms, got %s", routeTimeoutMs);
        require(generateParallelism >= 1, "generate parallelism must be >= 1, got %s", generateParallelism);
        require(maxParallelism >= generateParallelism, "max parallelism %s below generate parallelism %s",
                maxParallelism, generateParallelism);
    }

    private static void require(boolean ok, String fmt, Object... args) {
        if (!ok) throw new IllegalArgumentException(String.format(fmt, args));
    }

    /** Defaults for everything but the model and bank (tests and the demo adjust from here). */
    public static ServingConfig defaults(String modelDir, String bankDir) {
        return new ServingConfig(modelDir, bankDir, 0, 64, 1024, RecordLimits.DEFAULTS, 32, 32, 256, 2_000, 0, BatchGenerator.DEFAULT_PREFILL_MAX_DELAY_MS,
                512L << 20, 1, 2, 1, BatchGenerator.DEFAULT_JAVA_DECODE_ROWS, WeightFormat.F32,
                dev.hmem.runtime.anchor.JavaDecoder.DEFAULT_BLOCK_COPY_BYTES, 32, 5, true, 1, 128);
    }

    /** Free slots that open a batch more than half full to new prompts. */
    public int prefillMinFreeSlots() {
        return prefillMinFree > 0 ? prefillMinFree : BatchGenerator.defaultPrefillMinFree(maxBatch);
    }

    public ServingConfig withParallelism(int generate, int max) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, cacheBytes, pinnedLevels,
                loaderThreads, torchThreads, javaDecodeRows, weightFormat, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinityRouting, generate, max);
    }

    public ServingConfig withBatching(int maxBatch, int maxPathsPerBatch) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, cacheBytes, pinnedLevels,
                loaderThreads, torchThreads, javaDecodeRows, weightFormat, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinityRouting, generateParallelism, maxParallelism);
    }

    public ServingConfig withCache(long bytes, int pinned) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, bytes, pinned,
                loaderThreads, torchThreads, javaDecodeRows, weightFormat, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinityRouting, generateParallelism, maxParallelism);
    }

    public ServingConfig withRouting(boolean affinity) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, cacheBytes, pinnedLevels,
                loaderThreads, torchThreads, javaDecodeRows, weightFormat, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinity, generateParallelism, maxParallelism);
    }

    public ServingConfig withLimits(int context, int defaultMaxNewTokens, RecordLimits limits) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, cacheBytes, pinnedLevels,
                loaderThreads, torchThreads, javaDecodeRows, weightFormat, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinityRouting, generateParallelism, maxParallelism);
    }

    public ServingConfig withJavaDecode(int rows) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, cacheBytes, pinnedLevels,
                loaderThreads, torchThreads, rows, weightFormat, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinityRouting, generateParallelism, maxParallelism);
    }

    public ServingConfig withThreads(int torch, int loaders) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, cacheBytes, pinnedLevels,
                loaders, torch, javaDecodeRows, weightFormat, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinityRouting, generateParallelism, maxParallelism);
    }

    public ServingConfig withWeightFormat(WeightFormat format) {
        return new ServingConfig(modelDir, bankDir, context, defaultMaxNewTokens, maxNewTokensLimit, limits,
                maxBatch, maxPathsPerBatch, maxQueued, maxWaitMs, prefillMinFree, prefillMaxDelayMs, cacheBytes, pinnedLevels,
                loaderThreads, torchThreads, javaDecodeRows, format, javaBlockCopyBytes, routeBatch, routeTimeoutMs, affinityRouting, generateParallelism, maxParallelism);
    }
}
