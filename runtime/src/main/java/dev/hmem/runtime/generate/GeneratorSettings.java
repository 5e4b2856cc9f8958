package dev.hmem.runtime.generate;

import dev.hmem.runtime.anchor.JavaDecoder;
import dev.hmem.runtime.anchor.Transformer;
import dev.hmem.runtime.tensor.WeightFormat;
import java.io.Serializable;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/**
 * How a {@link BatchGenerator} is set up, validated once, and the one place one is built ({@link #open}): batch and
 * context size, prefill grouping, and the Java decode path with its weight format and block copies. The job, the CLI
 * and the benchmarks all open their generators here.
 *
 * @param maxBatch           sequences decoded together at most (KV cache slots)
 * @param context            tokens per sequence (prompt + generated); 0 = the model's maximum
 * @param maxPrefillTokens   prompt tokens prefilled in one step at most (bounds a step's latency)
 * @param maxDistinctPaths   distinct memory blocks per level in a batch at most (sizes the level slabs)
 * @param prefillMinFree     a batch more than half full admits new prompts once this many slots are free
 *                           (0 = a quarter of the batch), so prefills are grouped under load
 * @param prefillMaxDelayMs  ... or once the oldest waiting prompt has waited this long
 * @param javaDecodeRows     decode steps of at most this many rows run on the Java SIMD path instead of PyTorch,
 *                           when the JVM has the Vector API (0 = never)
 * @param weightFormat       how that path holds the anchor's matrices: f32 (the checkpoint's) or bf16
 * @param javaBlockCopyBytes heap copies of memory blocks that path keeps, least recently used dropped first
 * @param threads            threads of the Java path's thread split
 * @param autoTorchThreads   size PyTorch's process-wide pool per step (one thread below 16 rows, {@code threads}
 *                           above): only for a process that runs a single generator (CLI, benchmarks)
 */
public record GeneratorSettings(int maxBatch, int context, int maxPrefillTokens, int maxDistinctPaths, int prefillMinFree,
                                long prefillMaxDelayMs, int javaDecodeRows, WeightFormat weightFormat, long javaBlockCopyBytes,
                                int threads, boolean autoTorchThreads) implements Serializable {

    private static final Logger LOG = LoggerFactory.getLogger(GeneratorSettings.class);

    public static final GeneratorSettings DEFAULTS = new Builder().build();

    public GeneratorSettings {
        require(maxBatch >= 1 && maxBatch <= 1024, "--max-batch must be in [1, 1024], got %s", maxBatch);
        require(context >= 0, "--context must be >= 0 (0 = the model's), got %s", context);
        require(maxPrefillTokens >= 1, "max prefill tokens must be >= 1, got %s", maxPrefillTokens);
        require(maxDistinctPaths >= 1, "--max-paths-per-batch must be >= 1, got %s", maxDistinctPaths);
        require(prefillMinFree >= 0 && prefillMinFree <= maxBatch,
                "--prefill-min-free must be in [0, max batch %s], got %s", maxBatch, prefillMinFree);
        require(prefillMaxDelayMs >= 0, "--prefill-max-delay-ms must be >= 0, got %s", prefillMaxDelayMs);
        require(javaDecodeRows >= 0, "--java-decode-rows must be >= 0, got %s", javaDecodeRows);
        require(weightFormat != null, "weight format is required");
        require(javaBlockCopyBytes >= 0, "--java-block-copy-mb must be >= 0, got %s MB", javaBlockCopyBytes / (1 << 20));
        require(threads >= 1, "threads must be >= 1, got %s", threads);
    }

    private static void require(boolean ok, String fmt, Object... args) {
        if (!ok) throw new IllegalArgumentException(String.format(fmt, args));
    }

    /** Free slots that open a batch more than half full to new prompts. */
    public int prefillMinFreeSlots() {
        return prefillMinFree > 0 ? prefillMinFree : BatchGenerator.defaultPrefillMinFree(maxBatch);
    }

    /** The context a generator over {@code t} gets: this one, capped by the model's. */
    public int contextFor(Transformer t) {
        int max = t.config().maxPositions();
        return context > 0 ? Math.min(context, max) : max;
    }

    /**
     * A generator over {@code t} set up as these settings say. Without the Vector API (the JVM lacks
     * {@code --add-modules jdk.incubator.vector}) the Java path is off and a warning says so.
     *
     * @param decoder token ids to text (stop strings and the final text)
     */
    public BatchGenerator open(Transformer t, Function<int[], String> decoder) {
        BatchGenerator g = new BatchGenerator(t, decoder, maxBatch, contextFor(t), maxPrefillTokens)
                .maxDistinctPaths(maxDistinctPaths)
                .prefillGrouping(prefillMinFreeSlots(), prefillMaxDelayMs);
        if (autoTorchThreads) g.autoThreads(threads);
        if (javaDecodeRows > 0) {
            if (JavaDecoder.available()) {
                g.javaDecode(t.javaDecoder(threads, weightFormat, javaBlockCopyBytes), javaDecodeRows);
            } else {
                LOG.warn("Java decode path off: the JVM lacks --add-modules jdk.incubator.vector (small batches decode "
                        + "through PyTorch, several times slower)");
            }
        }
        return g;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxBatch = maxBatch;
        b.context = context;
        b.maxPrefillTokens = maxPrefillTokens;
        b.maxDistinctPaths = maxDistinctPaths;
        b.prefillMinFree = prefillMinFree;
        b.prefillMaxDelayMs = prefillMaxDelayMs;
        b.javaDecodeRows = javaDecodeRows;
        b.weightFormat = weightFormat;
        b.javaBlockCopyMb = javaBlockCopyBytes >> 20;
        b.threads = threads;
        b.autoTorchThreads = autoTorchThreads;
        return b;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The settings' only defaults, and their command-line options: a picocli mixin of the job and of
     * {@code hmem generate} / {@code hmem bench}, and a fluent builder for code.
     */
    public static final class Builder {
        @Option(names = "--max-batch", paramLabel = "N", description = "sequences decoded together at most per generator (default: ${DEFAULT-VALUE})")
        int maxBatch = 32;
        @Option(names = "--context", paramLabel = "TOKENS", description = "tokens per sequence, prompt plus generated; 0 = the model's maximum (default: ${DEFAULT-VALUE})")
        int context = 0;
        int maxPrefillTokens = 2048;
        @Option(names = "--max-paths-per-batch", paramLabel = "N", description = "distinct memory blocks per tree level in one batch at most (default: ${DEFAULT-VALUE})")
        int maxDistinctPaths = 32;
        @Option(names = "--prefill-min-free", paramLabel = "SLOTS", description = "a batch more than half full takes new prompts once this many slots are free; 0 = a quarter of the batch (default: ${DEFAULT-VALUE})")
        int prefillMinFree = 0;
        @Option(names = "--prefill-max-delay-ms", paramLabel = "MS", description = "... or once the oldest waiting prompt has waited this long (default: ${DEFAULT-VALUE})")
        long prefillMaxDelayMs = BatchGenerator.DEFAULT_PREFILL_MAX_DELAY_MS;
        /**
         * On the 2-core machines hmem is measured on, the Java path beat PyTorch at every batch measured, 1 to 64
         * rows (docs/BENCHMARKS.md), so by default every decode step of a serving batch takes it; prefill stays on
         * PyTorch's GEMMs. Machines with many cores may gain from a lower threshold.
         */
        @Option(names = "--java-decode-rows", paramLabel = "ROWS", description = "decode steps of at most this many rows run on the Java SIMD path; 0 = PyTorch only (default: ${DEFAULT-VALUE})")
        int javaDecodeRows = 256;
        @Option(names = "--weight-format", paramLabel = "FORMAT", converter = WeightFormatConverter.class,
                description = "the Java path's anchor matrices: f32 or bf16, half the bytes a small batch streams (default: f32)")
        WeightFormat weightFormat = WeightFormat.F32;
        /** A bench path (7.6 MB) many times over, or 8 mixed paths with their own level-1 blocks (~60 MB) at once. */
        @Option(names = "--java-block-copy-mb", paramLabel = "MB", description = "heap copies of memory blocks the Java path keeps per generator (default: ${DEFAULT-VALUE})")
        long javaBlockCopyMb = 128;
        int threads = 1;
        boolean autoTorchThreads = false;

        public Builder maxBatch(int v) { maxBatch = v; return this; }
        public Builder context(int v) { context = v; return this; }
        public Builder maxPrefillTokens(int v) { maxPrefillTokens = v; return this; }
        public Builder maxDistinctPaths(int v) { maxDistinctPaths = v; return this; }
        public Builder prefillGrouping(int minFree, long maxDelayMs) { prefillMinFree = minFree; prefillMaxDelayMs = maxDelayMs; return this; }
        public Builder javaDecodeRows(int v) { javaDecodeRows = v; return this; }
        public Builder weightFormat(WeightFormat v) { weightFormat = v; return this; }
        public Builder javaBlockCopyMb(long v) { javaBlockCopyMb = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder autoTorchThreads(boolean v) { autoTorchThreads = v; return this; }

        public int maxBatch() { return maxBatch; }

        public GeneratorSettings build() {
            return new GeneratorSettings(maxBatch, context, maxPrefillTokens, maxDistinctPaths, prefillMinFree, prefillMaxDelayMs,
                    javaDecodeRows, weightFormat, javaBlockCopyMb << 20, threads, autoTorchThreads);
        }
    }

    /** picocli: "f32" / "bf16". */
    public static final class WeightFormatConverter implements ITypeConverter<WeightFormat> {
        @Override
        public WeightFormat convert(String s) {
            return WeightFormat.parse(s);
        }
    }
}
