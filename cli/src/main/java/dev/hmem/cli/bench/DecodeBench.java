package dev.hmem.cli.bench;

import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.Progress;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.anchor.Transformer;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.config.Presets;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.GeneratorSettings;
import dev.hmem.runtime.generate.SamplingParams;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.tensor.TorchThreads;
import dev.hmem.runtime.tensor.WeightFormat;
import dev.hmem.training.bank.RandomBank;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.commons.math3.stat.descriptive.rank.Median;

/**
 * Decode throughput of the batched generator on the brief's 31.5M-parameter reference anchor:
 * anchor alone, with a fetched memory of ~10% of the FFN width (one path for the whole batch),
 * and with the batch spread over 8 paths; plus the machine's GEMM rate measured in the same run,
 * and block load times per level. Scenarios are interleaved round by round so machine noise hits
 * all of them alike; medians are reported.
 */
public final class DecodeBench {

    /** Neurons per level for the bench shape: 96 + 48 + 10 = 154, about 10% of the FFN width 1536. */
    static final int[] NEURONS = {96, 48, 10};

    /** The same shares of any FFN width (10% in all, split 62:31:6 over the levels), at least one neuron a level. */
    static int[] neuronsFor(int ffn) {
        int[] n = new int[NEURONS.length];
        for (int l = 0; l < n.length; l++) n[l] = Math.max(1, (int) Math.round((double) NEURONS[l] * ffn / 1536));
        return n;
    }
    static final int BRANCHING = 16;
    static final int DEPTH = 3;
    /** Prompt lengths and batches of the prefill comparison (issue 19: 64 and 512 tokens at batch 1 and 8). */
    static final int[] PREFILL_PROMPTS = {64, 512}, PREFILL_BATCHES = {1, 8};

    /** @param llamaCpp llama.cpp's llama-batched-bench, run inside every round as the peer; null: no peer */
    /**
     * @param shape a named shape ({@link Presets#all()}) with random weights, used when {@code model} is null
     * @param model an hmem model directory to bench instead of a named shape, or null
     */
    public record Options(int[] batches, int steps, int rounds, int promptTokens, int threads, Path bankDir, Path report,
                          Path accuracyRun, Path llamaCpp, String shape, Path model) {
        /** The bench's section of the report: "decode" for the reference shape, "decode-NAME" for the others. */
        String section() {
            if (model != null) return "decode-" + model.toAbsolutePath().getFileName();
            return shape.equals("bench") ? "decode" : "decode-" + shape;
        }
    }

    private final Options o;
    private final Random random = new Random(7);
    private int[] neurons = NEURONS;

    public DecodeBench(Options o) {
        this.o = o;
    }

    public String run() throws IOException {
        ModelConfig c = o.model != null ? ModelConfig.load(o.model) : Presets.byName(o.shape, 8192, 8190, 8191);
        neurons = neuronsFor(c.intermediateSize());
        try (AnchorWeights w = o.model != null ? AnchorWeights.load(o.model, c) : AnchorWeights.random(c, 1);
             Transformer t = new Transformer(w); NDManager blocks = NDManager.newBaseManager()) {
            MemoryBank bank = ensureBank(w);
            List<MemoryPath> paths = new ArrayList<>();
            for (int i = 0; i < 8; i++) paths.add(MemoryPath.of(i * 2, random.nextInt(BRANCHING), random.nextInt(BRANCHING)));
            // A serving subtask's batch: every row its own leaf, under 2 level-1 and 8 level-2 clusters.
            for (int i = 0; i < 64; i++) paths.add(MemoryPath.of(1 + 2 * (i % 2), (i / 2) % 4, i / 8));
            Map<MemoryPath, List<MemoryBlock>> loaded = new LinkedHashMap<>();
            Map<BlockId, MemoryBlock> byId = new HashMap<>();  // one instance per block, as the serving cache hands out
            for (MemoryPath p : paths) {
                List<MemoryBlock> bl = new ArrayList<>();
                for (BlockId id : bank.blocksFor(p)) {
                    MemoryBlock b = byId.get(id);
                    if (b == null) byId.put(id, b = bank.load(id, blocks));
                    bl.add(b);
                }
                loaded.put(p, bl);
            }
            String[] scenarios = {"anchor", "memory", "mixed8", "leaves", "percore-anchor", "percore-leaves"};
            int cores = Runtime.getRuntime().availableProcessors();
            List<String> runs = new ArrayList<>();
            // A path's scenarios run back to back, so the ratios between them (taken per round) compare
            // steps seconds apart: this machine's speed drifts by more than the differences measured.
            for (int b : o.batches) {
                for (String path : PATHS) {
                    for (String s : scenarios) {
                        if ((s.equals("mixed8") || s.equals("leaves")) && b < 8) continue;
                        if (s.startsWith("percore-") && (cores < 2 || b < cores || b % cores != 0)) continue;
                        runs.add(runKey(s, path, b));
                    }
                }
            }
            Map<String, List<Double>> stepMs = new LinkedHashMap<>();
            LlamaCppPeer peer = o.llamaCpp == null ? null : new LlamaCppPeer(o.llamaCpp, w, o.bankDir.resolve("gguf"), o.promptTokens,
                    o.steps, o.batches, o.threads > 0 ? o.threads : cores);
            Map<String, List<Double>> peerTokS = new LinkedHashMap<>();  // "F32@8" → that round's tok/s
            int prefills = PREFILL_PROMPTS.length * PREFILL_BATCHES.length;
            Progress progress = Progress.of("decode bench", (long) o.rounds * (runs.size() + prefills + (peer == null ? 0 : 8)), "runs");
            Map<String, List<Double>> prefillMs = new LinkedHashMap<>();  // "64@8" → that round's time to first token
            List<Double> gemm = new ArrayList<>();  // GFLOP/s, each round's ceiling
            List<Double> bandwidth = new ArrayList<>();  // GB/s read on all cores, each round's
            for (int round = 0; round < o.rounds; round++) {
                // The ceiling is measured in every round, on all cores whatever the last run left set,
                // so that each round's fractions divide by what the machine could do at that time.
                TorchThreads.set(cores);
                gemm.add(GemmRate.measure(3));
                bandwidth.add(ReadBandwidth.measure(o.threads > 0 ? o.threads : cores, 3));
                if (o.threads > 0) TorchThreads.set(o.threads);
                System.err.printf(Locale.ROOT, "round %d: fp32 GEMM 1024^3 %.1f GFLOP/s, read bandwidth %.1f GB/s%n", round + 1, gemm.get(round),
                        bandwidth.get(round));
                // The peer brackets hmem's runs of the round (before and after, the mean of the two), so both sides of
                // each round's ratio saw the same stretch of the machine's drift.
                Map<String, Double> before = peer == null ? Map.of() : runPeer(peer, progress);
                for (String run : runs) {
                    String scenario = run.substring(0, run.indexOf('/'));
                    String path = run.substring(run.indexOf('/') + 1, run.indexOf('@'));
                    int b = Integer.parseInt(run.substring(run.indexOf('@') + 1));
                    double ms = medianStepMillis(t, b, scenario, path, paths, loaded);
                    stepMs.computeIfAbsent(run, k -> new ArrayList<>()).add(ms);
                    progress.advance(1, String.format(Locale.ROOT, "%s: %.2f ms/step", run, ms));
                }
                for (int pp : PREFILL_PROMPTS) {
                    for (int b : PREFILL_BATCHES) {
                        double ms = prefillMillis(t, pp, b, loaded.get(paths.get(0)), paths.get(0));
                        prefillMs.computeIfAbsent(pp + "@" + b, k -> new ArrayList<>()).add(ms);
                        progress.advance(1, String.format(Locale.ROOT, "prefill %d×%d tokens: %.1f ms", b, pp, ms));
                    }
                }
                if (peer != null) {
                    Map<String, Double> after = runPeer(peer, progress);
                    for (String k : after.keySet()) peerTokS.computeIfAbsent(k, x -> new ArrayList<>()).add((before.get(k) + after.get(k)) / 2);
                }
            }
            String loads = blockLoads(bank, blocks);
            String accuracy = "bf16 accuracy: not measured (no trained run at " + o.accuracyRun + "; `./hmem demo` trains one).";
            if (o.accuracyRun != null && Files.exists(o.accuracyRun.resolve("corpus/heldout.jsonl"))) {
                accuracy = WeightFormatAccuracy.describe(o.accuracyRun, WeightFormatAccuracy.measure(o.accuracyRun, 64, 64));
            }
            String md = report(c, gemm, bandwidth, stepMs, peerTokS, peer, loads, accuracy, prefillReport(prefillMs, peerTokS, peer));
            bank.close();
            if (o.report != null) BenchReport.writeSection(o.report, o.section(), md);
            return md;
        }
    }

    private Map<String, Double> runPeer(LlamaCppPeer peer, Progress progress) throws IOException {
        Map<String, Double> m = new LinkedHashMap<>();
        for (LlamaCppPeer.Format f : LlamaCppPeer.Format.values()) {
            try {
                peer.run(f).forEach((b, t) -> m.put(f + "@" + b, t));
                progress.advance(1, "llama.cpp " + f);
                peer.prefill(f, PREFILL_PROMPTS, PREFILL_BATCHES).forEach((k, sec) -> m.put(prefillKey(f, k), sec * 1e3));
                progress.advance(1, "llama.cpp " + f + " prompt processing");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
        return m;
    }

    /** The peer's prompt-processing time for {@code "pp@batch"} in format {@code f}, ms, in the peer's round map. */
    static String prefillKey(LlamaCppPeer.Format f, String ppAtBatch) {
        return "PP " + f + " " + ppAtBatch;
    }

    /**
     * Time to first token of {@code batch} prompts of {@code prompt} tokens submitted together, with {@code path}'s
     * memory attached: the one step that prefills them and samples each its first token (one new token each, so no
     * decode follows in that step), the generator's default threads. The median of 3 after a warm-up, ms.
     */
    private double prefillMillis(Transformer t, int prompt, int batch, List<MemoryBlock> path, MemoryPath label) {
        int threads = o.threads == 0 ? Runtime.getRuntime().availableProcessors() : o.threads;
        double[] ms = new double[3];
        try (BatchGenerator g = GeneratorSettings.builder().maxBatch(batch).maxDistinctPaths(batch).context(prompt + 8)
                .maxPrefillTokens(1 << 20).threads(threads).autoTorchThreads(o.threads == 0).build().open(t, ids -> "")) {
            for (int rep = -1; rep < ms.length; rep++) {
                for (int i = 0; i < batch; i++) {
                    int[] tokens = new int[prompt];
                    for (int j = 0; j < prompt; j++) tokens[j] = random.nextInt(t.config().vocabSize() - 2);
                    List<MemoryBlock> mem = new ArrayList<>();
                    for (MemoryBlock b : path) mem.add(b.retain());
                    g.submit(new GenerationRequest("p" + rep + "-" + i, tokens, SamplingParams.greedy(1).withIgnoreEos(true), mem,
                            label.toString()));
                }
                int answered = g.step().size();
                if (answered != batch || g.lastStep().prefillRows() != batch || g.lastStep().decodeRows() != 0) {
                    throw new IllegalStateException("prefill step of " + batch + " prompts answered " + answered + " with "
                            + g.lastStep().prefillRows() + " prefilled and " + g.lastStep().decodeRows() + " decoded");
                }
                if (rep >= 0) ms[rep] = g.lastStep().nanos() / 1e6;
            }
        } finally {
            if (o.threads > 0) TorchThreads.set(o.threads);
        }
        return med(ms);
    }

    /** hmem's time to first token beside llama.cpp's prompt processing, same prompts, same rounds. */
    private String prefillReport(Map<String, List<Double>> prefillMs, Map<String, List<Double>> peerRounds, LlamaCppPeer peer) {
        StringBuilder sb = new StringBuilder();
        sb.append("\n### Prefill: time to first token\n\n");
        sb.append(String.format(Locale.ROOT, "hmem: the one generator step that prefills a batch of random prompts (memory attached, "
                + "the `memory` scenario's path for every row) and samples each its first token; the median of 3 after a warm-up, "
                + "then the median over %d rounds. Prefill runs on PyTorch in f32 on either weight format (bf16 weights are a "
                + "decode-path option). ", o.rounds));
        if (peer == null) {
            sb.append("No peer was run.\n");
            return sb.toString();
        }
        sb.append(String.format(Locale.ROOT, "llama.cpp: `%s`, T_PP (all prompts of the batch processed together), before and after "
                + "hmem's runs in each round (the mean of the two). Ratio = llama.cpp's time ÷ hmem's, the median of per-round ratios "
                + "(range): above 1 hmem answers first (target, issue 19: ≥ 1, i.e. TTFT ≤ llama.cpp's prompt processing).%n%n",
                peer.prefillCommand(LlamaCppPeer.Format.F32, PREFILL_PROMPTS, PREFILL_BATCHES)));
        sb.append("| prompt tokens | batch | hmem + memory TTFT (ms) | llama.cpp F32 (ms) | vs F32 | llama.cpp F16 (ms) | vs F16 |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (int pp : PREFILL_PROMPTS) {
            for (int b : PREFILL_BATCHES) {
                List<Double> h = prefillMs.get(pp + "@" + b);
                StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %d | %d | %.1f |", pp, b, med(h)));
                for (LlamaCppPeer.Format f : LlamaCppPeer.Format.values()) {
                    List<Double> p = peerRounds.get(prefillKey(f, pp + "@" + b));
                    double[] r = new double[Math.min(h.size(), p.size())];
                    for (int i = 0; i < r.length; i++) r[i] = p.get(i) / h.get(i);
                    row.append(String.format(Locale.ROOT, " %.1f | **%.2f×** (%.2f–%.2f) |", med(p), med(r),
                            java.util.Arrays.stream(r).min().orElse(Double.NaN), java.util.Arrays.stream(r).max().orElse(Double.NaN)));
                }
                sb.append(row).append('\n');
            }
        }
        return sb.toString();
    }

    private MemoryBank ensureBank(AnchorWeights w) throws IOException {
        Path dir = o.bankDir.resolve("bench-" + w.fingerprint);
        if (!Files.exists(dir.resolve(BankManifest.FILE))) {
            System.err.println("building the benchmark bank in " + dir + " (once)");
            // Blocks are widened to f32 at load whatever they are stored in; bf16 halves the disk of the larger shapes' banks.
            RandomBank.create(dir, w.identity(), BRANCHING, DEPTH, neurons, 0, w.config.equals(Presets.bench()) ? DType.F32 : DType.BF16,
                    false, 3);
        }
        return MemoryBank.open(dir);
    }

    /** The decode paths compared: PyTorch operations, the Java SIMD path, and that path with bf16 anchor weights. */
    static final String[] PATHS = {"torch", "java", "bf16"};

    private static String pathName(String p) {
        return switch (p) {
            case "java" -> "Java";
            case "bf16" -> "Java, bf16 weights";
            default -> "PyTorch";
        };
    }

    /** Median wall time of one decode step with {@code batch} running rows. */
    private double medianStepMillis(Transformer t, int batch, String scenario, String java, List<MemoryPath> paths,
                                    Map<MemoryPath, List<MemoryBlock>> loaded) {
        if (scenario.startsWith("percore-")) return perCoreStepMillis(t, batch, scenario.substring(8), java, paths, loaded);
        List<GenerationRequest> rows = requests(t, 0, batch, scenario, paths, loaded);
        int threads = o.threads == 0 ? Runtime.getRuntime().availableProcessors() : o.threads;
        try (BatchGenerator g = generator(t, batch, java, threads, o.threads == 0)) {
            return med(decodeSteps(g, rows));
        }
    }

    /**
     * A generator of {@code batch} rows on decode path {@code path}: every row may have a path of its own (the leaf
     * scenarios), the whole prompt is prefilled in one step, and the Java paths take every decode step.
     */
    private BatchGenerator generator(Transformer t, int batch, String path, int threads, boolean autoTorchThreads) {
        return GeneratorSettings.builder().maxBatch(batch).maxDistinctPaths(batch).context(o.promptTokens + o.steps + 8)
                .maxPrefillTokens(1 << 20).javaDecodeRows(path.equals("torch") ? 0 : batch)
                .weightFormat(path.equals("bf16") ? WeightFormat.BF16 : WeightFormat.F32).threads(threads)
                .autoTorchThreads(autoTorchThreads).build().open(t, ids -> "");
    }

    /**
     * The serving layout: the batch split evenly over one single-threaded generator per core, all
     * stepping at once (as the job's generate subtasks do). Returns the step time a single
     * generator would need for the same throughput, so it reads like the other scenarios.
     */
    private double perCoreStepMillis(Transformer t, int batch, String scenario, String java, List<MemoryPath> paths,
                                     Map<MemoryPath, List<MemoryBlock>> loaded) {
        int cores = Runtime.getRuntime().availableProcessors(), each = batch / cores;
        List<List<GenerationRequest>> parts = new ArrayList<>();
        for (int c = 0; c < cores; c++) parts.add(requests(t, c * each, each, scenario, paths, loaded));
        TorchThreads.set(1);  // process-wide; each generator then runs on its own core
        ExecutorService pool = Executors.newFixedThreadPool(cores);
        try {
            List<Future<double[]>> runs = new ArrayList<>();
            for (List<GenerationRequest> part : parts) {
                runs.add(pool.submit(() -> {
                    try (BatchGenerator g = generator(t, each, java, 1, false)) {
                        return decodeSteps(g, part);
                    }
                }));
            }
            double tokensPerMs = 0;
            for (Future<double[]> r : runs) tokensPerMs += each / med(r.get());
            return batch / tokensPerMs;
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException("per-core decode run failed", e);
        } finally {
            pool.shutdown();
            // Generators with autoThreads size the pool again on their first step.
            if (o.threads > 0) TorchThreads.set(o.threads);
        }
    }

    /** {@code count} requests of a scenario, rows {@code first}.. of the batch. */
    private List<GenerationRequest> requests(Transformer t, int first, int count, String scenario, List<MemoryPath> paths,
                                             Map<MemoryPath, List<MemoryBlock>> loaded) {
        int vocab = t.config().vocabSize();
        List<GenerationRequest> out = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            int[] prompt = new int[o.promptTokens];
            for (int j = 0; j < prompt.length; j++) prompt[j] = random.nextInt(vocab - 2);
            List<MemoryBlock> mem = new ArrayList<>();
            String label = "none";
            if (!scenario.equals("anchor")) {
                MemoryPath p = scenario.equals("memory") ? paths.get(0)
                        : scenario.equals("mixed8") ? paths.get(i % 8) : paths.get(8 + i % 64);
                for (MemoryBlock b : loaded.get(p)) mem.add(b.retain());
                label = p.toString();
            }
            out.add(new GenerationRequest("r" + i, prompt, SamplingParams.greedy(o.steps + 4).withIgnoreEos(true), mem, label));
        }
        return out;
    }

    /** Prefills {@code rows}, then times {@code o.steps} decode steps (ms each). */
    private double[] decodeSteps(BatchGenerator g, List<GenerationRequest> rows) {
        for (GenerationRequest r : rows) g.submit(r);
        g.step();  // prefill + first decode
        double[] ms = new double[o.steps];
        for (int s = 0; s < o.steps; s++) {
            g.step();
            if (g.lastStep().decodeRows() != rows.size()) throw new IllegalStateException("batch shrank during the bench");
            ms[s] = g.lastStep().nanos() / 1e6;
        }
        g.cancelAll();
        return ms;
    }

    /** Cold (page cache dropped, if allowed), warm (page cache) and hot (in hmem's cache) per level. */
    private String blockLoads(MemoryBank bank, NDManager manager) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("| level | r | block (MiB, f32) | cold: disk → tensor (ms) | warm: page cache → tensor (ms) | hot: cache hit (µs) |\n");
        sb.append("|---|---|---|---|---|---|\n");
        boolean dropped = dropPageCache();
        for (int level = 1; level <= DEPTH; level++) {
            double[] cold = new double[5], warm = new double[5];
            for (int i = 0; i < 5; i++) {
                MemoryPath p = MemoryPath.of(random.nextInt(BRANCHING), random.nextInt(BRANCHING), random.nextInt(BRANCHING)).prefix(level);
                BlockId id = new BlockId(p);
                if (dropped && i > 0) dropPageCache();
                long t0 = System.nanoTime();
                MemoryBlock b = bank.load(id, manager);
                cold[i] = (System.nanoTime() - t0) / 1e6;
                t0 = System.nanoTime();
                MemoryBlock again = bank.load(id, manager);
                warm[i] = (System.nanoTime() - t0) / 1e6;
                b.evict();
                again.evict();
            }
            long bytes = bank.loadedBytes(new BlockId(MemoryPath.of(new int[level])));
            // A cache hit is a map lookup plus a reference count; measure it directly.
            java.util.concurrent.ConcurrentHashMap<BlockId, MemoryBlock> map = new java.util.concurrent.ConcurrentHashMap<>();
            MemoryBlock b = bank.load(new BlockId(MemoryPath.of(new int[level])), manager);
            map.put(b.id(), b);
            long t0 = System.nanoTime();
            for (int i = 0; i < 100_000; i++) map.get(b.id()).retain().release();
            double hotUs = (System.nanoTime() - t0) / 1e3 / 100_000;
            b.evict();
            sb.append(String.format(Locale.ROOT, "| %d | %d | %.1f | %s | %.2f | %.3f |%n", level, neurons[level - 1],
                    bytes / 1048576.0, dropped ? String.format(Locale.ROOT, "%.2f", med(cold)) : "n/a (no permission to drop the page cache)",
                    med(warm), hotUs));
        }
        return sb.toString();
    }

    private static boolean dropPageCache() {
        try {
            new ProcessBuilder("sync").start().waitFor();
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1");
            return true;
        } catch (IOException | InterruptedException | SecurityException e) {
            return false;
        }
    }

    private double tokS(Map<String, List<Double>> stepMs, String scenario, String path, int b) {
        List<Double> ms = stepMs.get(runKey(scenario, path, b));
        return ms == null ? Double.NaN : b / med(ms) * 1e3;
    }

    /**
     * The share of the GEMM ceiling a scenario's FLOPs (2 × {@code params} per token) reach: the
     * median over rounds of each round's rate over that round's ceiling.
     */
    static double gemmFraction(Map<String, List<Double>> stepMs, List<Double> gemm, String scenario, String path, int b,
                               long params) {
        List<Double> ms = stepMs.get(runKey(scenario, path, b));
        if (ms == null) return Double.NaN;
        List<Double> shares = new ArrayList<>();
        for (int r = 0; r < Math.min(ms.size(), gemm.size()); r++) {
            shares.add(2.0 * params * (b / (ms.get(r) / 1e3)) / (gemm.get(r) * 1e9));
        }
        return med(shares);
    }

    /**
     * Tokens/s of {@code scenario} over those of {@code base} (same path and batch): the median over
     * rounds of each round's ratio, not the ratio of the medians, so that the machine's drift
     * between rounds cancels.
     */
    static double speedRatio(Map<String, List<Double>> stepMs, String scenario, String base, String path, int b) {
        List<Double> x = stepMs.get(runKey(scenario, path, b)), y = stepMs.get(runKey(base, path, b));
        if (x == null || y == null) return Double.NaN;
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < Math.min(x.size(), y.size()); r++) ratios.add(y.get(r) / x.get(r));
        return med(ratios);
    }

    /** A run's name and key in the step times: {@code scenario/path@batch}. */
    static String runKey(String scenario, String path, int b) {
        return scenario + "/" + path + "@" + b;
    }

    /** The path the generator takes by default at this batch. */
    static String defaultPath(int batch) {
        return batch <= GeneratorSettings.DEFAULTS.javaDecodeRows() ? "java" : "torch";
    }

    private static String f0(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f", v);
    }

    /** hmem + memory over the peer: the median of per-round ratios, with their range. */
    private static String peerRatio(Map<String, List<Double>> stepMs, Map<String, List<Double>> peerTokS, String path, String format, int b) {
        List<Double> ms = stepMs.get(runKey("memory", path, b)), peer = peerTokS.get(format + "@" + b);
        if (ms == null || peer == null) return "–";
        double[] r = new double[Math.min(ms.size(), peer.size())];
        for (int i = 0; i < r.length; i++) r[i] = b / ms.get(i) * 1e3 / peer.get(i);
        double lo = java.util.Arrays.stream(r).min().orElse(Double.NaN), hi = java.util.Arrays.stream(r).max().orElse(Double.NaN);
        return String.format(Locale.ROOT, "**%.2f×** (%.2f–%.2f)", med(r), lo, hi);
    }

    /**
     * Bytes one decode step reads per row at batch 1 on a Java path: every anchor matrix (the LM head included) in the
     * path's weight format, the memory neurons' f32 heap copies when memory is attached, and the KV cache at the mean
     * position of the measured steps.
     */
    long bytesPerToken(ModelConfig c, String path, boolean memory) {
        long weights = c.activeParameterCount() * (path.equals("bf16") ? 2 : 4);
        long mem = memory ? 4L * 3 * (neurons[0] + neurons[1] + neurons[2]) * c.hiddenSize() * c.numLayers() : 0;
        long kv = 4L * 2 * c.numLayers() * (o.promptTokens + o.steps / 2) * c.numKvHeads() * c.headDim();
        return weights + mem + kv;
    }

    /** Batch-1 bytes × tok/s over each round's read bandwidth, the median of rounds. */
    double bandwidthFraction(Map<String, List<Double>> stepMs, List<Double> bandwidth, String scenario, String path, long bytes) {
        List<Double> ms = stepMs.get(runKey(scenario, path, 1));
        if (ms == null) return Double.NaN;
        List<Double> shares = new ArrayList<>();
        for (int r = 0; r < Math.min(ms.size(), bandwidth.size()); r++) shares.add(bytes * (1e3 / ms.get(r)) / (bandwidth.get(r) * 1e9));
        return med(shares);
    }

    private String report(ModelConfig c, List<Double> gemm, List<Double> bandwidth, Map<String, List<Double>> stepMs,
                          Map<String, List<Double>> peerTokS, LlamaCppPeer peer, String loads, String accuracy, String prefill) {
        long active = c.activeParameterCount();
        long memParams = 3L * (neurons[0] + neurons[1] + neurons[2]) * c.hiddenSize() * c.numLayers();
        StringBuilder sb = new StringBuilder();
        sb.append("## Decode throughput\n\n");
        sb.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        String who = o.model != null ? "the model in " + o.model : o.shape.equals("bench") ? "the brief's reference Llama"
                : "the `" + o.shape + "` shape (`--shape " + o.shape + "`)";
        sb.append(String.format(Locale.ROOT, "Anchor: " + who.replace("%", "%%") + ", %.1fM parameters (d %d, %d layers, FFN %d, %d heads (%d key/value), "
                        + "vocab %d, %s), %s, f32. Memory: %d+%d+%d = %d neurons per layer fetched "
                        + "(%.1f%% of the FFN width, %.2fM parameters) from a k=%d, depth-%d random bank.%n%n",
                c.parameterCount() / 1e6, c.hiddenSize(), c.numLayers(), c.intermediateSize(), c.numHeads(), c.numKvHeads(), c.vocabSize(),
                c.tieWordEmbeddings() ? "tied" : "untied", o.model != null ? "its own weights" : "random weights",
                neurons[0], neurons[1], neurons[2], neurons[0] + neurons[1] + neurons[2],
                100.0 * (neurons[0] + neurons[1] + neurons[2]) / c.intermediateSize(), memParams / 1e6, BRANCHING, DEPTH));
        sb.append(String.format(Locale.ROOT, "fp32 GEMM ceiling (1024³, measured at the start of every round): **%.1f GFLOP/s** "
                + "(median; %.1f–%.1f over the rounds). "
                + "Each figure is the median over %d rounds of the median step time of %d decode steps "
                + "(prompt %d tokens, KV cache from %d to %d positions), all scenarios interleaved in each round.%n%n",
                med(gemm), java.util.Collections.min(gemm), java.util.Collections.max(gemm),
                o.rounds, o.steps, o.promptTokens, o.promptTokens, o.promptTokens + o.steps));

        sb.append("### Against llama.cpp, in the same run\n\n");
        if (peer == null) {
            sb.append("No peer was run in this bench. `./hmem bench decode --llama-cpp DIR/llama-batched-bench` (built by "
                    + "`../shared/peers/llama.cpp/build.sh DIR`) exports this anchor as GGUF and runs llama.cpp inside every round.\n");
        } else {
            sb.append(String.format(Locale.ROOT, "llama.cpp (built from ../shared/peers/llama.cpp, `%s`) on the same anchor exported by `hmem model export-gguf` (F32, and F16 for every "
                    + "matrix), `%s`, run before and after hmem's runs in each round (the mean of the two); hmem with memory "
                    + "attached on its default path (f32) and with bf16 anchor weights. Ratio = hmem ÷ llama.cpp, the median over "
                    + "%d rounds of each round's ratio (range in brackets). Targets (issue 19): ≥ 1.0× at batch 1, ≥ 1.3× at 8, "
                    + "≥ 1.5× at 32.%n%n", peer.version(), peer.command(LlamaCppPeer.Format.F32), o.rounds));
            sb.append("| batch | llama.cpp F32 tok/s | hmem f32 + memory (anchor) | f32 ratio | llama.cpp F16 tok/s "
                    + "| hmem bf16 + memory (anchor) | 16-bit ratio |\n|---|---|---|---|---|---|---|\n");
            for (int b : o.batches) {
                String p = defaultPath(b);
                sb.append(String.format(Locale.ROOT, "| %d | %s | %s (%s) | %s | %s | %s (%s) | %s |%n", b,
                        f0(med(peerTokS.get("F32@" + b))), f0(tokS(stepMs, "memory", p, b)), f0(tokS(stepMs, "anchor", p, b)),
                        peerRatio(stepMs, peerTokS, p, "F32", b), f0(med(peerTokS.get("F16@" + b))),
                        f0(tokS(stepMs, "memory", "bf16", b)), f0(tokS(stepMs, "anchor", "bf16", b)),
                        peerRatio(stepMs, peerTokS, "bf16", "F16", b)));
            }
        }
        boolean batch1 = java.util.Arrays.stream(o.batches).anyMatch(b -> b == 1);
        if (batch1) {
            sb.append(String.format(Locale.ROOT, "%n### Batch 1 at the memory wall%n%nRead bandwidth (a STREAM-like SIMD sum over %d MiB per thread "
                            + "on %d threads, measured at the start of every round): **%.1f GB/s** (median; %.1f–%.1f). A batch-1 step streams every "
                            + "weight once, so its speed is bounded by bandwidth ÷ bytes per token. Share = bytes per token × tok/s ÷ that round's "
                            + "bandwidth, median of rounds (target, issue 19: ≥ 90%%).%n%n| path | memory | bytes per token | tok/s | share of read "
                            + "bandwidth |%n|---|---|---|---|---|%n",
                    (int) (dev.hmem.cli.bench.jmh.ReadBandwidthBenchmark.BYTES / (1 << 20)), o.threads > 0 ? o.threads : Runtime.getRuntime().availableProcessors(),
                    med(bandwidth), java.util.Collections.min(bandwidth), java.util.Collections.max(bandwidth)));
            for (String p : new String[] {"java", "bf16"}) {
                for (String scenario : new String[] {"anchor", "memory"}) {
                    long bytes = bytesPerToken(c, p, scenario.equals("memory"));
                    sb.append(String.format(Locale.ROOT, "| %s | %s | %.1f MB | %s | **%.0f%%** |%n", pathName(p),
                            scenario.equals("memory") ? "attached (f32 blocks)" : "none", bytes / 1e6, f0(tokS(stepMs, scenario, p, 1)),
                            100 * bandwidthFraction(stepMs, bandwidth, scenario, p, bytes)));
                }
            }
            sb.append("\nBytes per token: all anchor matrices incl. the LM head (4 bytes each in f32, 2 in bf16), the fetched memory "
                    + "neurons' f32 heap copies, and the KV cache at the mean position of the measured steps; activations and norms are "
                    + "left out (under 0.1%).\n");
        }
        sb.append(prefill);
        sb.append("\n### By decode path\n\n");
        sb.append("| batch | path | anchor tok/s | + memory tok/s | memory overhead | 8 mixed paths tok/s | mixed / single path "
                + "| a leaf per row tok/s | leaves / single path | anchor GEMM fraction | memory GEMM fraction |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int b : o.batches) {
            for (String p : PATHS) {
                double a = tokS(stepMs, "anchor", p, b), m = tokS(stepMs, "memory", p, b);
                double mixed = tokS(stepMs, "mixed8", p, b), leaves = tokS(stepMs, "leaves", p, b);
                sb.append(String.format(Locale.ROOT, "| %d | %s%s | %s | %s | %.1f%% | %s | %s | %s | %s | %.1f%% | %.1f%% |%n",
                        b, pathName(p), p.equals(defaultPath(b)) ? " (default)" : "", f0(a), f0(m),
                        100 * (speedRatio(stepMs, "anchor", "memory", p, b) - 1), f0(mixed),
                        Double.isNaN(mixed) ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * speedRatio(stepMs, "mixed8", "memory", p, b)),
                        f0(leaves),
                        Double.isNaN(leaves) ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * speedRatio(stepMs, "leaves", "memory", p, b)),
                        100 * gemmFraction(stepMs, gemm, "anchor", p, b, active),
                        100 * gemmFraction(stepMs, gemm, "memory", p, b, active + memParams)));
            }
        }
        sb.append("\nThe serving layout — the batch split over one single-threaded generator per core, stepping at once, "
                + "as the job's generate subtasks run (`--torch-threads 1`):\n\n");
        sb.append("| batch (all generators) | path | anchor tok/s | vs one generator | a leaf per row tok/s | vs one generator | anchor GEMM fraction |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (int b : o.batches) {
            for (String p : PATHS) {
                double ta = tokS(stepMs, "percore-anchor", p, b);
                if (Double.isNaN(ta)) continue;
                double tl = tokS(stepMs, "percore-leaves", p, b);
                sb.append(String.format(Locale.ROOT, "| %d | %s%s | %s | %.2fx | %s | %s | %.1f%% |%n", b,
                        pathName(p), p.equals(defaultPath(b / Runtime.getRuntime().availableProcessors())) ? " (default)" : "",
                        f0(ta), speedRatio(stepMs, "percore-anchor", "anchor", p, b), f0(tl),
                        Double.isNaN(tl) ? "–" : String.format(Locale.ROOT, "%.2fx", speedRatio(stepMs, "percore-leaves", "leaves", p, b)),
                        100 * gemmFraction(stepMs, gemm, "percore-anchor", p, b, active)));
            }
        }
        sb.append("\nMemory overhead = anchor tok/s ÷ memory tok/s − 1; it and the other ratios (mixed / single, "
                + "leaves / single, vs one generator) are medians of each round's ratio, so they need not equal "
                + "the ratio of the medians beside them. 8 mixed paths: rows spread over 8 paths "
                + "with 8 different level-1 blocks. A leaf per row: as a serving subtask sees a Zipf load over many "
                + "leaves, every row its own leaf, under 2 level-1 and 8 level-2 blocks. GEMM fraction = 2 × active parameters "
                + "(all matrices incl. the LM head; + memory neurons) × tok/s ÷ GEMM ceiling, per round (median of rounds). The Java path reads "
                + "a path's blocks side by side (the same neurons as the assembled path). bf16 weights: the anchor's "
                + "matrices held as bfloat16 and widened to f32 in the kernel (an option, `--weight-format bf16`; memory "
                + "blocks stay f32); its GEMM fraction counts the same FLOPs.\n\n");
        sb.append(accuracy).append("\n\n");
        sb.append("### Block load time per level\n\n").append(loads).append("\n");
        sb.append("Cold: page cache dropped, then read (memory-mapped), CRC32C-checked and converted to an f32 tensor. "
                + "Warm: the same with the file in the page cache. Hot: the block already in hmem's cache.\n\n");
        sb.append("Threads: ").append(o.threads == 0 ? "PyTorch 1 below batch 16, all cores from batch 16 (the generator's "
                        + "default); the Java path all cores"
                : o.threads + " throughout").append(".\n\n");
        sb.append("Reproduce: `./hmem bench decode")
                .append(o.model != null ? " --model " + o.model : o.shape.equals("bench") ? "" : " --shape " + o.shape)
                .append(" --rounds ").append(o.rounds).append(" --batches ")
                .append(java.util.Arrays.stream(o.batches).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(",")))
                .append(o.llamaCpp != null ? " --llama-cpp DIR/llama-batched-bench" : "")
                .append("` (writes this section; the first run builds its random bank under ~/.cache/hmem: ~2.7 GiB for the bench shape).\n");
        return sb.toString();
    }

    private static double med(List<Double> v) {
        return med(v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double med(double[] v) {
        return new Median().evaluate(v);
    }
}
