package dev.hmem.operators.engine;

import dev.hmem.operators.records.RecordLimits;
import dev.hmem.runtime.generate.GeneratorSettings;
import java.io.Serializable;
import java.util.function.UnaryOperator;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What the serving operators need to know, validated once: the model and bank, request limits, the generator, the
 * block cache and routing. Built by {@link Builder} — the only place its defaults are written, and the job's
 * command-line options for them — and handed to each operator's constructor.
 *
 * @param bankDir             bank location (local path or any Flink file system URI); null = anchor only
 * @param limits              sizes of the parts of a request (and so of results and dead letters)
 * @param generator           each generate subtask's batching, context and decode path
 * @param maxQueued           prompts accepted per generate subtask and not yet answered, at most
 * @param shedWhenFull        a prompt arriving at a full subtask is answered "overloaded" at once (true), or the input
 *                            waits for room (false: back-pressure, which fills the network buffers that checkpoint
 *                            barriers queue behind)
 * @param maxWaitMs           a prompt queued this long is admitted before cache-friendlier ones
 * @param queueDeadlineMs     a request's default deadline: a prompt whose generation has not started this long after it
 *                            was created is answered "overloaded" (0 = never)
 * @param quarantineMs        a block that failed its checksum or could not be read is not read again for this long
 * @param maxEngineFailures   a prompt in the batch of this many steps that failed the whole engine (across restarts) is
 *                            answered with an error and dead-lettered instead of being generated again
 * @param cacheBytes          budget for the evictable blocks in memory: cached, and held by running or queued prompts
 *                            (a prefetch waits for room); pinned levels are extra
 * @param pinnedLevels        levels 1..pinnedLevels (and the generic memory) are never evicted
 * @param loaderThreads       threads reading blocks from the bank (prefetch)
 * @param torchThreads        PyTorch intra-op threads per subtask, and the Java decode path's threads
 * @param routeBatch          prompts embedded together by the router at most
 * @param routeTimeoutMs      a partial routing batch is flushed after this long
 * @param affinityRouting     false = round-robin (the naive baseline of the benchmarks)
 * @param generateParallelism subtasks of the generate operator (routing targets them)
 * @param maxParallelism      the job's max parallelism (key groups)
 * @param streamTokens        every request streams partial results (a request's own {@code stream} field wins)
 * @param streamEveryTokens   a streaming request's next partial result after this many new tokens ...
 * @param streamEveryMs       ... or this long after the previous one, whichever comes first (the first: at the first token)
 */
public record ServingConfig(
        String modelDir, String bankDir, RecordLimits limits, int defaultMaxNewTokens, int maxNewTokensLimit,
        GeneratorSettings generator, int maxQueued, boolean shedWhenFull, long maxWaitMs, long queueDeadlineMs, long quarantineMs,
        int maxEngineFailures, long cacheBytes, int pinnedLevels, int loaderThreads,
        int torchThreads, int routeBatch, long routeTimeoutMs, boolean affinityRouting, int generateParallelism,
        int maxParallelism, boolean streamTokens, int streamEveryTokens, long streamEveryMs) implements Serializable {

    public ServingConfig {
        require(modelDir != null && !modelDir.isBlank(), "--model is required (an anchor directory)");
        require(limits != null, "record limits are required");
        require(generator != null, "generator settings are required");
        require(defaultMaxNewTokens >= 1 && defaultMaxNewTokens <= maxNewTokensLimit,
                "--max-new-tokens must be in [1, --max-new-tokens-limit %s], got %s", maxNewTokensLimit, defaultMaxNewTokens);
        require(maxQueued >= 1, "--max-queued must be >= 1, got %s", maxQueued);
        require(maxWaitMs >= 0, "--max-wait-ms must be >= 0, got %s", maxWaitMs);
        require(queueDeadlineMs >= 0, "--queue-deadline-ms must be >= 0 (0 = never), got %s", queueDeadlineMs);
        require(quarantineMs >= 0, "--quarantine-ms must be >= 0, got %s", quarantineMs);
        require(maxEngineFailures >= 1, "--max-engine-failures must be >= 1, got %s", maxEngineFailures);
        require(cacheBytes >= 0, "--cache-mb must be >= 0, got %s MB", cacheBytes / (1 << 20));
        require(pinnedLevels >= 0, "--pinned-levels must be >= 0, got %s", pinnedLevels);
        require(loaderThreads >= 1, "--loader-threads must be >= 1, got %s", loaderThreads);
        require(torchThreads >= 1, "--torch-threads must be >= 1, got %s", torchThreads);
        require(generator.threads() == torchThreads, "the generator's threads (%s) must be the torch threads (%s)",
                generator.threads(), torchThreads);
        require(routeBatch >= 1, "--route-batch must be >= 1, got %s", routeBatch);
        require(routeTimeoutMs >= 0, "--route-timeout-ms must be >= 0, got %s", routeTimeoutMs);
        require(generateParallelism >= 1, "--parallelism must be >= 1, got %s", generateParallelism);
        require(maxParallelism >= generateParallelism, "--max-parallelism %s below --parallelism %s",
                maxParallelism, generateParallelism);
        require(streamEveryTokens >= 1, "--stream-every-tokens must be >= 1, got %s", streamEveryTokens);
        require(streamEveryMs >= 0, "--stream-every-ms must be >= 0, got %s", streamEveryMs);
    }

    private static void require(boolean ok, String fmt, Object... args) {
        if (!ok) throw new IllegalArgumentException(String.format(fmt, args));
    }

    public static Builder builder(String modelDir, String bankDir) {
        return new Builder().model(modelDir).bank(bankDir);
    }

    /** The same serving settings for another anchor and bank (a serving version's). */
    public ServingConfig withModel(String model, String bank) {
        return toBuilder().model(model).bank(bank).build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.modelDir = modelDir;
        b.bankDir = bankDir;
        b.limits = limits.toBuilder();
        b.defaultMaxNewTokens = defaultMaxNewTokens;
        b.maxNewTokensLimit = maxNewTokensLimit;
        b.generator = generator.toBuilder();
        b.maxQueued = maxQueued;
        b.whenFull = shedWhenFull ? WhenFull.SHED : WhenFull.WAIT;
        b.maxWaitMs = maxWaitMs;
        b.queueDeadlineMs = queueDeadlineMs;
        b.quarantineMs = quarantineMs;
        b.maxEngineFailures = maxEngineFailures;
        b.cacheMb = cacheBytes >> 20;
        b.pinnedLevels = pinnedLevels;
        b.loaderThreads = loaderThreads;
        b.torchThreads = torchThreads;
        b.routeBatch = routeBatch;
        b.routeTimeoutMs = routeTimeoutMs;
        b.routing = affinityRouting ? Routing.AFFINITY : Routing.ROUND_ROBIN;
        b.generateParallelism = generateParallelism;
        b.maxParallelism = maxParallelism;
        b.streamTokens = streamTokens;
        b.streamEveryTokens = streamEveryTokens;
        b.streamEveryMs = streamEveryMs;
        return b;
    }

    /** How prompts find a generate subtask. */
    public enum Routing {
        /** A path's level-1 cluster prefers one subtask (its blocks meet in one cache), spilling over under load. */
        AFFINITY,
        /** Every prompt to the next subtask: the naive baseline. */
        ROUND_ROBIN;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** What a full generate subtask does with one more prompt. */
    public enum WhenFull {
        SHED, WAIT;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** picocli: "shed" / "wait". */
    public static final class WhenFullConverter implements ITypeConverter<WhenFull> {
        @Override
        public WhenFull convert(String s) {
            for (WhenFull w : WhenFull.values()) if (w.toString().equals(s)) return w;
            throw new IllegalArgumentException("must be shed or wait, got '" + s + "'");
        }
    }

    /** picocli: "affinity" / "round-robin". */
    public static final class RoutingConverter implements ITypeConverter<Routing> {
        @Override
        public Routing convert(String s) {
            for (Routing r : Routing.values()) if (r.toString().equals(s)) return r;
            throw new IllegalArgumentException("must be affinity or round-robin, got '" + s + "'");
        }
    }

    /**
     * The serving options' only defaults and their command-line declarations: a picocli mixin of the job's options
     * (with the generator's and the record limits' as mixins of its own), and a fluent builder for code.
     */
    public static final class Builder {
        @Option(names = "--model", paramLabel = "DIR", description = "anchor directory (Hugging Face layout): a local path, or any Flink file system URI (s3://...), copied once to each TaskManager's disk (-Dhmem.localCacheDir, default the JVM's temporary directory)")
        String modelDir;
        @Option(names = "--bank", paramLabel = "DIR", description = "memory bank directory or URI; without it the anchor serves alone")
        String bankDir;
        @Mixin
        RecordLimits.Builder limits = new RecordLimits.Builder();
        @Option(names = "--max-new-tokens", paramLabel = "N", description = "tokens generated when a request does not say (default: ${DEFAULT-VALUE})")
        int defaultMaxNewTokens = 64;
        @Option(names = "--max-new-tokens-limit", paramLabel = "N", description = "the most a request may ask for (default: ${DEFAULT-VALUE})")
        int maxNewTokensLimit = 1024;
        @Mixin
        GeneratorSettings.Builder generator = new GeneratorSettings.Builder();
        /** About 25 s of work for one subtask of the reference model at its ~5 requests/s: a queue, not a warehouse. */
        @Option(names = "--max-queued", paramLabel = "N", description = "prompts accepted per generate subtask and not yet answered, at most (default: ${DEFAULT-VALUE})")
        int maxQueued = 128;
        /**
         * Back-pressure holds the excess in Flink's network buffers, where the aligned checkpoint barriers of this job
         * (whose custom-partitioned edge cannot be unaligned) wait behind it; shedding answers it at once, so barriers
         * and answers keep moving at any load (docs/BENCHMARKS.md, "Overload").
         */
        @Option(names = "--when-full", paramLabel = "shed|wait", converter = WhenFullConverter.class,
                description = "a prompt arriving at a full generate subtask: shed = answered 'overloaded' at once; wait = back-pressure (default: ${DEFAULT-VALUE})")
        WhenFull whenFull = WhenFull.SHED;
        @Option(names = "--max-wait-ms", paramLabel = "MS", description = "a prompt waiting this long is admitted before cache-friendlier ones (default: ${DEFAULT-VALUE})")
        long maxWaitMs = 2_000;
        /**
         * Under overload a queue builds wherever the input waits (network buffers, the engine's queue); a deadline turns
         * an unbounded wait into a fast, explicit answer, which also drains what delays checkpoint barriers.
         */
        @Option(names = "--queue-deadline-ms", paramLabel = "MS", description = "a request's default deadline from its creation to the start of its generation; later it is answered 'overloaded'; 0 = never (default: ${DEFAULT-VALUE})")
        long queueDeadlineMs = 60_000;
        @Option(names = "--quarantine-ms", paramLabel = "MS", description = "a block that failed its checksum or its read is not read again for this long; prompts use the healthy prefix of their path meanwhile (default: ${DEFAULT-VALUE})")
        long quarantineMs = 300_000;
        @Option(names = "--max-engine-failures", paramLabel = "N", description = "a prompt in this many batches that failed the whole engine, across restarts, is answered with an error (default: ${DEFAULT-VALUE})")
        int maxEngineFailures = 2;
        @Option(names = "--cache-mb", paramLabel = "MB", description = "block memory budget per generate subtask: cached blocks and those running and queued prompts hold (a prefetch waits for room), pinned levels not counted (default: ${DEFAULT-VALUE})")
        long cacheMb = 512;
        @Option(names = "--pinned-levels", paramLabel = "N", description = "levels 1..N (and the generic memory) are never evicted (default: ${DEFAULT-VALUE})")
        int pinnedLevels = 1;
        @Option(names = "--loader-threads", paramLabel = "N", description = "threads per subtask reading blocks from the bank (default: ${DEFAULT-VALUE})")
        int loaderThreads = 2;
        @Option(names = "--torch-threads", paramLabel = "N", description = "PyTorch and Java decode threads per generate subtask (default: ${DEFAULT-VALUE})")
        int torchThreads = 1;
        @Option(names = "--route-batch", paramLabel = "N", description = "prompts embedded together by the router (default: ${DEFAULT-VALUE})")
        int routeBatch = 32;
        @Option(names = "--route-timeout-ms", paramLabel = "MS", description = "a partial routing batch waits this long at most (default: ${DEFAULT-VALUE})")
        long routeTimeoutMs = 5;
        @Option(names = "--routing", paramLabel = "affinity|round-robin", converter = RoutingConverter.class,
                description = "how prompts find a generate subtask (default: ${DEFAULT-VALUE})")
        Routing routing = Routing.AFFINITY;
        @Option(names = "--parallelism", paramLabel = "N", description = "generate subtasks (default: ${DEFAULT-VALUE})")
        int generateParallelism = 1;
        @Option(names = "--max-parallelism", paramLabel = "N", description = "the job's max parallelism, the most it can be rescaled to (default: ${DEFAULT-VALUE})")
        int maxParallelism = 128;
        @Option(names = "--stream-tokens", description = "every request streams partial results to the token topic, unless it says otherwise")
        boolean streamTokens;
        @Option(names = "--stream-every-tokens", paramLabel = "N", description = "a streaming request's partial result after this many new tokens (default: ${DEFAULT-VALUE})")
        int streamEveryTokens = 8;
        @Option(names = "--stream-every-ms", paramLabel = "MS", description = "... or this long after its previous one, whichever comes first (default: ${DEFAULT-VALUE})")
        long streamEveryMs = 200;

        public Builder model(String dir) { modelDir = dir; return this; }
        public Builder bank(String dir) { bankDir = dir; return this; }
        public Builder limits(UnaryOperator<RecordLimits.Builder> edit) { limits = edit.apply(limits); return this; }
        public Builder maxNewTokens(int byDefault, int limit) { defaultMaxNewTokens = byDefault; maxNewTokensLimit = limit; return this; }
        public Builder defaultMaxNewTokens(int v) { defaultMaxNewTokens = v; return this; }
        public Builder generator(UnaryOperator<GeneratorSettings.Builder> edit) { generator = edit.apply(generator); return this; }
        public Builder maxQueued(int v) { maxQueued = v; return this; }
        public Builder whenFull(WhenFull v) { whenFull = v; return this; }
        public Builder maxWaitMs(long v) { maxWaitMs = v; return this; }
        public Builder queueDeadlineMs(long v) { queueDeadlineMs = v; return this; }
        public Builder quarantineMs(long v) { quarantineMs = v; return this; }
        public Builder maxEngineFailures(int v) { maxEngineFailures = v; return this; }
        public Builder cache(long mb, int pinned) { cacheMb = mb; pinnedLevels = pinned; return this; }
        public Builder loaderThreads(int v) { loaderThreads = v; return this; }
        public Builder torchThreads(int v) { torchThreads = v; return this; }
        public Builder routeBatch(int size, long timeoutMs) { routeBatch = size; routeTimeoutMs = timeoutMs; return this; }
        public Builder routing(Routing v) { routing = v; return this; }
        public Builder parallelism(int generate, int max) { generateParallelism = generate; maxParallelism = max; return this; }
        public Builder parallelism(int generate) { generateParallelism = generate; return this; }
        public Builder streaming(boolean all, int everyTokens, long everyMs) { streamTokens = all; streamEveryTokens = everyTokens; streamEveryMs = everyMs; return this; }

        public ServingConfig build() {
            return new ServingConfig(modelDir, bankDir == null || bankDir.isBlank() ? null : bankDir, limits.build(),
                    defaultMaxNewTokens, maxNewTokensLimit, generator.threads(torchThreads).build(), maxQueued,
                    whenFull == WhenFull.SHED, maxWaitMs,
                    queueDeadlineMs, quarantineMs, maxEngineFailures, cacheMb << 20, pinnedLevels, loaderThreads, torchThreads, routeBatch, routeTimeoutMs,
                    routing == Routing.AFFINITY, generateParallelism, maxParallelism, streamTokens, streamEveryTokens, streamEveryMs);
        }
    }
}
