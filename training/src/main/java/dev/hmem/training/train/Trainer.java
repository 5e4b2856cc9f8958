package dev.hmem.training.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import com.google.gson.GsonBuilder;
import dev.hmem.runtime.Progress;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.anchor.Transformer;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.ffn.MemoryBranch;
import dev.hmem.runtime.ffn.MemoryPlan;
import dev.hmem.runtime.ffn.RowBatchedMemory;
import dev.hmem.runtime.io.DType;
import dev.hmem.training.corpus.UserDocuments;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Trains an anchor and its hierarchical memory bank with DJL autograd (PyTorch engine) on CPU:
 * stage 1 the anchor alone on sequences drawn from the whole corpus; stage 2 anchor and memories
 * together, each sequence packed from one leaf and computed with that leaf's path of blocks (or
 * the generic memory, with probability {@code genericProb}); only the blocks a batch uses get
 * gradients and updates. AdamW, warm-up then cosine decay, global gradient-norm clipping,
 * separate LR and weight decay for memories. Checkpoints let a run resume exactly where it stopped.
 */
public final class Trainer implements AutoCloseable {

    /**
     * What a run produced.
     *
     * @param blockUpdates optimiser steps each memory block received (absent = never updated)
     * @param reference    greedy tokens the trained weights produce for the first fact's probe with
     *                     the memory of its first document's leaf, before saving (reload checks)
     */
    public record Result(Path modelDir, Path bankDir, Path corpusDir, String fingerprint, int[] exposures,
                         List<double[]> losses, double seconds, Map<String, Long> blockUpdates, int[] reference,
                         String referencePath) {}

    /** Thrown when a run stops at {@link #interruptAfter} steps, its checkpoint written. */
    static final class Interrupted extends RuntimeException {
        Interrupted(long steps) {
            super("training interrupted after " + steps + " steps (checkpoint written)");
        }
    }

    private long interruptAfter = Long.MAX_VALUE;
    private long stepsRun;
    private int snapshotEvery;

    /** Saves the model every {@code steps} steps of the run into snapshots/ (0 = never). */
    public Trainer snapshotEvery(int steps) {
        if (steps < 0) throw new IllegalArgumentException("snapshot interval must be >= 0, got " + steps);
        this.snapshotEvery = steps;
        return this;
    }

    private UserDocuments documents;
    private Path documentsSource;

    /**
     * Trains on a team's own documents instead of the configuration's synthetic corpus (the prose
     * directory is then not read); the configuration still gives model, bank and schedule.
     */
    public Trainer documents(UserDocuments docs, Path source) {
        this.documents = docs;
        this.documentsSource = source;
        return this;
    }

    private PreparedData prepare(Path out, Path proseDir, Path tokenizer) throws IOException {
        if (documents == null) return PreparedData.prepare(cfg, out, proseDir, tokenizer, log);
        return PreparedData.prepare(cfg, out, documents.corpus(), tokenizer, log);
    }

    /** Test hook: checkpoint and stop after this many steps of this process. */
    void interruptAfter(long steps) {
        this.interruptAfter = steps;
    }

    private final TrainConfig cfg;
    private final PrintStream log;
    private final NDManager manager = NDManager.newBaseManager();

    public Trainer(TrainConfig cfg, PrintStream log) {
        this.cfg = cfg;
        this.log = log;
    }

    /** Both stages from scratch (or from the checkpoint in {@code out}), then the model and bank. */
    public Result run(Path out, Path proseDir) throws IOException {
        long t0 = System.nanoTime();
        PreparedData data = prepare(out, proseDir, null);
        ModelConfig mc = anchorConfig(data);
        try (AnchorWeights anchor = AnchorWeights.random(mc, cfg.seed());
             TrainableBank bank = new TrainableBank(data.tree(), cfg.neurons(), cfg.generic(), mc.numLayers(),
                     mc.hiddenSize(), cfg.seed() + 1, manager);
             AdamW opt = new AdamW(manager)) {
            log.printf(Locale.ROOT, "[train] anchor %.2fM parameters, bank %.2fM (%d blocks), fetched %d neurons per layer%n",
                    mc.parameterCount() / 1e6, bankParams(bank) / 1e6, bank.params.size(), cfg.fetchedNeurons());
            Loop loop = new Loop(data, anchor, bank, opt, out);
            loop.resume();
            double stage1 = TrainingCompute.train(mc, 1, cfg.batch(), cfg.seqLen(), 0);
            double stage2 = TrainingCompute.train(mc, 1, cfg.batch(), cfg.seqLen(), rowNeurons());
            loop.stage(1, cfg.anchorSteps(), true, false, 0, 0, stage1);
            loop.stage(2, cfg.memorySteps(), true, true, cfg.anchorSteps(), stage1 * cfg.anchorSteps(), stage2);
            loop.flops = stage1 * cfg.anchorSteps() + stage2 * cfg.memorySteps();
            loop.steps = cfg.anchorSteps() + cfg.memorySteps();
            return save(out, data, anchor, bank, loop, t0);
        }
    }

    /**
     * Post-hoc memories (the paper's variant d): the anchor in {@code anchorDir} — hmem's or any Hugging
     * Face Llama checkpoint, in its stored dtype — stays frozen and untouched; only blocks are trained
     * (stage 2 with anchor updates off), for {@code cfg.memorySteps()} steps, with the checkpoint's own
     * tokenizer. {@code out/model} links to the checkpoint; the bank names its fingerprint.
     */
    public Result postHoc(Path anchorDir, Path out, Path proseDir) throws IOException {
        long t0 = System.nanoTime();
        ModelConfig mc = ModelConfig.load(anchorDir);
        if (mc.maxPositions() < cfg.seqLen()) {
            throw new IllegalArgumentException(anchorDir + " has a context of " + mc.maxPositions() + " tokens; configuration "
                    + cfg.name() + " trains on sequences of " + cfg.seqLen());
        }
        PreparedData data = prepare(out, proseDir, anchorDir);
        try (AnchorWeights anchor = AnchorWeights.load(anchorDir, mc);
             TrainableBank bank = new TrainableBank(data.tree(), cfg.neurons(), cfg.generic(), mc.numLayers(),
                     mc.hiddenSize(), cfg.seed() + 1, manager);
             AdamW opt = new AdamW(manager)) {
            Loop loop = new Loop(data, anchor, bank, opt, out, anchorDir);
            loop.resume();
            loop.stage(2, cfg.memorySteps(), false, true, 0, 0, TrainingCompute.train(mc, 1, cfg.batch(), cfg.seqLen(), rowNeurons()));
            loop.flops = TrainingCompute.train(mc, cfg.memorySteps(), cfg.batch(), cfg.seqLen(), rowNeurons());
            loop.steps = cfg.memorySteps();
            return save(out, data, anchor, bank, loop, t0);
        }
    }

    private ModelConfig anchorConfig(PreparedData data) {
        return new ModelConfig(data.vocab(), cfg.hidden(), cfg.ffn(), cfg.layers(), cfg.heads(), cfg.kvHeads(),
                cfg.hidden() / cfg.heads(), cfg.context(), 10000.0, null, 1e-5, true, data.bos(), List.of(data.eos()));
    }

    /** Memory neurons per row of a memory step, on average (generic or fetched). */
    private double rowNeurons() {
        return cfg.genericProb() * cfg.generic() + (1 - cfg.genericProb()) * cfg.fetchedNeurons();
    }

    /**
     * A baseline without routed memory ({@link DenseBaseline}) on the memory run's corpus and
     * tokenizer, for the steps its budget gives against what {@code memoryRun} recorded. Refuses a
     * memory run of another configuration or seed, and a corpus that came out different.
     */
    public Result dense(Path out, Path memoryRun, Path proseDir, DenseBaseline spec) throws IOException {
        long t0 = System.nanoTime();
        var memStats = DenseBaseline.memoryRun(memoryRun, cfg);
        PreparedData data = prepare(out, proseDir, memoryRun.resolve("model"));
        DenseBaseline.requireSameCorpus(memoryRun, out);
        ModelConfig mc = spec.shape(cfg, data.vocab(), data.bos(), data.eos());
        try (AnchorWeights anchor = AnchorWeights.random(mc, cfg.seed());
             AdamW opt = new AdamW(manager)) {
            int tokensPerStep = cfg.batch() * cfg.seqLen();
            double flopsPerStep = TrainingCompute.train(mc, 1, cfg.batch(), cfg.seqLen(), 0);
            int steps = spec.steps(memStats.get("tokens").getAsLong(), memStats.get("train_flops").getAsDouble(), tokensPerStep,
                    flopsPerStep);
            String label = spec.label((double) mc.parameterCount() / memStats.get("parameters").getAsDouble());
            log.printf(Locale.ROOT, "[dense] %s: %.2fM parameters (d %d, FFN %d), %d steps, peak LR %.3g%n", label,
                    mc.parameterCount() / 1e6, mc.hiddenSize(), mc.intermediateSize(), steps, cfg.lrAnchor());
            Loop loop = new Loop(data, anchor, null, opt, out);
            loop.resume();
            loop.stage(1, steps, true, false, 0, 0, flopsPerStep);
            loop.flops = flopsPerStep * steps;
            loop.steps = steps;
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("baseline", label);
            extra.put("baseline_kind", spec.kind().name().toLowerCase(Locale.ROOT));
            extra.put("match", spec.match());
            extra.put("steps_factor", spec.stepsFactor());
            extra.put("peak_lr", cfg.lrAnchor());
            extra.put("memory_run", memoryRun.toAbsolutePath().normalize().toString());
            return save(out, data, anchor, null, loop, t0, extra);
        }
    }

    private Result save(Path out, PreparedData data, AnchorWeights anchor, TrainableBank bank, Loop loop, long t0)
            throws IOException {
        return save(out, data, anchor, bank, loop, t0, Map.of());
    }

    private Result save(Path out, PreparedData data, AnchorWeights anchor, TrainableBank bank, Loop loop, long t0,
                        Map<String, Object> extra) throws IOException {
        int[] reference = null;
        String referencePath = null;
        if (bank != null) {
            referencePath = data.docLeaves()[0].toString();
            reference = loop.greedy(data, bank, 8);
        }
        Path model = out.resolve("model");
        double secs = (System.nanoTime() - t0) / 1e9;
        Map<String, Object> all = new LinkedHashMap<>(extra);
        all.put("losses", loop.losses);
        String fp = loop.writeModel(out, loop.steps, loop.flops, loop.exposures, secs, all);
        Path bankDir = bank == null ? null : out.resolve("bank");
        deleteRecursively(out.resolve("checkpoint"));
        log.printf(Locale.ROOT, "[train] done in %s: model %s, bank %s%n", Progress.duration(secs), model, bankDir);
        Map<String, Long> updates = new LinkedHashMap<>();
        loop.opt.slots.forEach((name, slot) -> {
            if (name.startsWith("block.")) updates.put(name.substring(6), slot.t);
        });
        return new Result(model, bankDir, out.resolve("corpus"), fp, loop.exposures, loop.losses, secs, updates,
                reference, referencePath);
    }

    private static long bankParams(TrainableBank b) {
        long n = 0;
        for (NDArray a : b.params.values()) n += a.getShape().size();
        return n;
    }

    /** The optimisation loop shared by all stages. */
    private final class Loop {
        final PreparedData data;
        final AnchorWeights anchor;
        final TrainableBank bank;
        final AdamW opt;
        final Transformer model;
        final SequenceSampler sampler;
        final List<NDArray> anchorParams;
        final Path out;
        final Path checkpointDir;
        final Path frozenAnchor;
        final long started = System.nanoTime();
        final String corpusDigest;  // of out/corpus, written by prepare: every snapshot records it
        final int[] exposures;
        final List<double[]> losses = new ArrayList<>();  // (stage, step, loss)
        double flops;
        int steps;
        int doneStage = 0;
        long doneStep = 0;

        Loop(PreparedData data, AnchorWeights anchor, TrainableBank bank, AdamW opt, Path out) {
            this(data, anchor, bank, opt, out, null);
        }

        /** @param frozenAnchor the directory a post-hoc run's frozen anchor came from, or null */
        Loop(PreparedData data, AnchorWeights anchor, TrainableBank bank, AdamW opt, Path out, Path frozenAnchor) {
            this.frozenAnchor = frozenAnchor;
            this.out = out;
            this.data = data;
            this.anchor = anchor;
            this.bank = bank;
            this.opt = opt;
            this.model = new Transformer(anchor);
            this.checkpointDir = out.resolve("checkpoint");
            try {
                this.corpusDigest = DenseBaseline.digest(out.resolve("corpus"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            this.anchorParams = anchor.parameters();
            int[][] docFacts = new int[data.docTokens().length][];
            for (int i = 0; i < docFacts.length; i++) docFacts[i] = data.corpus().documents().get(i).factIds();
            this.sampler = new SequenceSampler(data.docTokens(), docFacts, data.docLeaves(), cfg.seed());
            this.exposures = new int[data.corpus().facts().size()];
        }

        /**
         * @param offset       steps of the run before this stage (a snapshot is named by the run's step)
         * @param flopsBefore  training FLOPs of the run before this stage
         * @param flopsPerStep training FLOPs of one step of this stage
         */
        void stage(int stage, int steps, boolean trainAnchor, boolean memory, long offset, double flopsBefore, double flopsPerStep)
                throws IOException {
            if (steps == 0 || stage < doneStage) return;
            if (trainAnchor) {
                for (NDArray p : anchorParams) p.setRequiresGradient(true);
            }
            long start = stage == doneStage ? doneStep : 0;
            Progress p = new Progress("stage " + stage + (memory ? " memory" : " anchor"), steps, "steps", log, 10);
            p.advance(start);
            long tokens = 0, t0 = System.nanoTime();
            double ema = Double.NaN;
            for (long step = start; step < steps; step++) {
                double frac = (double) step / steps;
                double loss = step(stage, step, frac, trainAnchor, memory);
                ema = Double.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
                losses.add(new double[] {stage, step, loss});
                tokens += (long) cfg.batch() * cfg.seqLen();
                double tps = tokens / ((System.nanoTime() - t0) / 1e9);
                p.advance(1, String.format(Locale.ROOT, "loss %.3f, %.0f tok/s", ema, tps));
                if (snapshotEvery > 0 && (offset + step + 1) % snapshotEvery == 0) {
                    snapshot(offset + step + 1, flopsBefore + flopsPerStep * (step + 1));
                }
                if (cfg.checkpointEvery() > 0 && (step + 1) % cfg.checkpointEvery() == 0 && step + 1 < steps) {
                    checkpoint(stage, step + 1);
                }
                if (++stepsRun >= interruptAfter) {
                    checkpoint(stage, step + 1);
                    throw new Interrupted(stepsRun);
                }
            }
            doneStage = stage + 1;
            doneStep = 0;
        }

        /** One optimiser step; returns the batch's mean cross-entropy. */
        double step(int stage, long step, double frac, boolean trainAnchor, boolean memory) {
            int b = cfg.batch(), t = cfg.seqLen();
            long[] tok = new long[b * (t + 1)];
            List<List<BlockId>> rowBlocks = new ArrayList<>(b);
            long stepKey = stage * 1_000_000_000L + step;
            int groups = b / cfg.rowsPerLeaf();
            for (int row = 0; row < b; row++) {
                int group = row / cfg.rowsPerLeaf();
                SequenceSampler.Sample s = sampler.next(stepKey, row, group, memory ? groups : 0, t);
                System.arraycopy(s.tokens(), 0, tok, row * (t + 1), t + 1);
                for (int f : s.facts()) exposures[f]++;
                if (memory) {
                    SplittableRandom r = new SplittableRandom(SequenceSampler.mix(cfg.seed() + 7, stepKey, group));
                    boolean generic = cfg.generic() > 0 && r.nextDouble() < cfg.genericProb();
                    rowBlocks.add(generic ? List.of(BlockId.GENERIC) : bank.pathBlocks(s.leaf()));
                }
            }
            double lrA = lr(cfg.lrAnchor(), frac), lrM = lr(cfg.lrMemory(), frac);
            try (NDScope scope = new NDScope(); NDManager m = manager.newSubManager()) {
                NDArray all = m.create(tok, new Shape(b, t + 1));
                NDArray input = all.get(":, 0:{}", t);
                NDArray labels = all.get(":, 1:");
                Set<BlockId> active = new LinkedHashSet<>();
                for (List<BlockId> r : rowBlocks) active.addAll(r);
                double loss;
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    Map<BlockId, TrainableBank.View> views = new HashMap<>();
                    for (BlockId id : active) views.put(id, new TrainableBank.View(id, bank.params.get(id)));
                    List<List<FfnMemory>> rows = new ArrayList<>();
                    for (List<BlockId> r : rowBlocks) {
                        List<FfnMemory> mem = new ArrayList<>();
                        for (BlockId id : r) mem.add(views.get(id));
                        rows.add(mem);
                    }
                    MemoryBranch plan = memory ? RowBatchedMemory.of(rows, m) : MemoryBranch.NONE;
                    NDArray logits = model.forwardFull(input, plan);                          // (B, T, V)
                    NDArray logp = logits.logSoftmax(2);
                    NDArray ce = logp.gather(labels.expandDims(2), 2).mean().neg();
                    gc.backward(ce);
                    loss = ce.getFloat();
                }
                List<NDArray> params = new ArrayList<>();
                List<String> names = new ArrayList<>();
                if (trainAnchor) {
                    for (int i = 0; i < anchorParams.size(); i++) {
                        params.add(anchorParams.get(i));
                        names.add("anchor." + i);
                    }
                }
                for (BlockId id : active) {
                    params.add(bank.params.get(id));
                    names.add("block." + id);
                }
                List<NDArray> grads = new ArrayList<>();
                double norm2 = 0;
                for (NDArray p : params) {
                    NDArray g = p.getGradient();
                    grads.add(g);
                    norm2 += g.square().sum().getFloat();
                }
                double scale = Math.min(1.0, cfg.clip() / (Math.sqrt(norm2) + 1e-6));
                for (int i = 0; i < params.size(); i++) {
                    NDArray g = scale < 1 ? grads.get(i).mul(scale) : grads.get(i);
                    boolean isBlock = names.get(i).startsWith("block.");
                    opt.update(names.get(i), params.get(i), g, isBlock ? lrM : lrA, isBlock ? cfg.wdMemory() : cfg.wdAnchor());
                    JniUtils.zeroGrad((PtNDArray) params.get(i));
                }
                return loss;
            }
        }

        /** Greedy continuation of the first fact's probe with the memory of document 0's leaf. */
        int[] greedy(PreparedData data, TrainableBank bank, int tokens) throws IOException {
            int[] prompt;
            try (dev.hmem.runtime.tokenizer.TextTokenizer tok = dev.hmem.runtime.tokenizer.TextTokenizer.load(data.tokenizerDir())) {
                prompt = tok.encode(data.corpus().facts().get(0).probe());
            }
            List<Integer> seq = new ArrayList<>();
            for (int t : prompt) seq.add(t);
            int[] out = new int[tokens];
            for (int i = 0; i < tokens; i++) {
                try (NDScope scope = new NDScope(); NDManager m = manager.newSubManager()) {
                    long[] tok = new long[seq.size()];
                    for (int j = 0; j < tok.length; j++) tok[j] = seq.get(j);
                    List<FfnMemory> mem = new ArrayList<>();
                    for (BlockId id : bank.pathBlocks(data.docLeaves()[0])) {
                        mem.add(new TrainableBank.View(id, bank.params.get(id)));
                    }
                    NDArray logits = model.forwardFull(m.create(tok, new Shape(1, tok.length)), MemoryPlan.of(List.of(mem), m));
                    out[i] = (int) logits.get("0, -1").argMax().getLong();
                    seq.add(out[i]);
                }
            }
            return out;
        }

        /** Linear warm-up then cosine decay to a tenth of the peak. */
        double lr(double peak, double frac) {
            if (frac < cfg.warmup()) return peak * (frac + 1e-3) / cfg.warmup();
            double p = (frac - cfg.warmup()) / (1 - cfg.warmup());
            return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * p)));
        }

        /**
         * The model as it stands after {@code runStep} steps, in snapshots/NNNNNN/ with its own
         * training.json (exposures so far) and a link to the run's corpus, so `hmem eval` reads it
         * like a finished run: what the curves of facts and perplexity against tokens are made of.
         */
        void snapshot(long runStep, double flopsSoFar) throws IOException {
            Path dir = out.resolve("snapshots").resolve(String.format(Locale.ROOT, "%06d", runStep));
            Files.createDirectories(dir);
            Path link = dir.resolve("corpus");
            if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) Files.createSymbolicLink(link, Path.of("..", "..", "corpus"));
            writeModel(dir, runStep, flopsSoFar, exposures.clone(), (System.nanoTime() - started) / 1e9, Map.of("snapshot", true));
        }

        /**
         * Writes model/, bank/ (if any) and training.json into {@code dir}: what the evaluator reads, for
         * the finished run and for each snapshot of it. Returns the anchor's fingerprint.
         */
        String writeModel(Path dir, long steps, double flops, int[] exposures, double secs, Map<String, Object> extra) throws IOException {
            Path model = dir.resolve("model");
            String fp;
            if (frozenAnchor != null) {
                // A frozen checkpoint is not rewritten: re-saving a BF16 model in F32 would double it and change
                // its fingerprint, so its new bank would not pair with the checkpoint the user serves. The run
                // links to it instead, and the bank names the checkpoint's own fingerprint.
                if (!Files.exists(model, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(dir);
                    Files.createSymbolicLink(model, frozenAnchor.toAbsolutePath().normalize());
                }
                fp = anchor.fingerprint;
            } else {
                fp = anchor.save(model, DType.F32);
                for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                    if (!data.tokenizerDir().resolve(f).equals(model.resolve(f))) {
                        Files.copy(data.tokenizerDir().resolve(f), model.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
            if (bank != null) bank.write(dir.resolve("bank"), fp, "trained by hmem (" + cfg.name() + ", seed " + cfg.seed() + ")");
            Map<String, Object> stats = new LinkedHashMap<>();
            stats.put("config", cfg.name());
            stats.put("seed", cfg.seed());
            stats.put("seconds", secs);
            stats.put("anchor_fingerprint", fp);
            stats.put("steps", steps);
            stats.put("tokens", steps * cfg.batch() * cfg.seqLen());
            stats.put("train_flops", flops);
            // the peak LRs and decays used, so a sweep's runs say what they swept
            Map<String, Object> optimizer = new LinkedHashMap<>();
            optimizer.put("lr_anchor", cfg.lrAnchor());
            optimizer.put("wd_anchor", cfg.wdAnchor());
            if (bank != null) {
                optimizer.put("lr_memory", cfg.lrMemory());
                optimizer.put("wd_memory", cfg.wdMemory());
            }
            stats.put("optimizer", optimizer);
            stats.put("parameters", anchor.config.parameterCount());
            if (bank != null) {
                stats.put("bank_parameters", bankParams(bank));
                stats.put("fetched_parameters", 3L * cfg.fetchedNeurons() * anchor.config.hiddenSize() * anchor.config.numLayers());
            }
            stats.putAll(extra);
            if (documents != null) stats.put("user_documents", documents.stats(documentsSource));
            stats.put("corpus_digest", corpusDigest);
            stats.put("tokenizer_digest", DenseBaseline.tokenizerDigest(model));
            stats.put("probe_routing", data.probeRouting());
            stats.put("fact_leaves", java.util.Arrays.stream(data.factLeaves()).map(MemoryPath::toString).toList());
            stats.put("exposures", exposures);
            Files.writeString(dir.resolve("training.json"), new GsonBuilder().create().toJson(stats));
            return fp;
        }

        void checkpoint(int stage, long step) throws IOException {
            TrainCheckpoint.save(checkpointDir, cfg, stage, step, anchorParams, bank, opt, exposures, losses);
        }

        void resume() throws IOException {
            TrainCheckpoint.State s = TrainCheckpoint.load(checkpointDir, cfg, anchorParams, bank, opt);
            if (s == null) return;
            doneStage = s.stage();
            doneStep = s.step();
            System.arraycopy(s.exposures(), 0, exposures, 0, exposures.length);
            losses.addAll(s.losses());
            log.printf("[train] resumed from %s: stage %d, step %d%n", checkpointDir, doneStage, doneStep);
        }
    }

    static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
