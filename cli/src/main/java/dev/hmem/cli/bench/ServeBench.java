package dev.hmem.cli.bench;

import ai.djl.ndarray.NDManager;
import dev.hmem.cli.demo.LocalFlink;
import dev.hmem.jobs.inference.InferenceJob;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.jobs.inference.KafkaConnectors;
import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.cli.loadgen.LoadGenerator;
import dev.hmem.cli.loadgen.LoadReport;
import dev.hmem.cli.loadgen.PromptPool;
import dev.hmem.cli.loadgen.Workload;
import dev.hmem.model.anchor.Anchor;
import dev.hmem.model.anchor.AnchorWeights;
import dev.hmem.model.config.ModelConfig;
import dev.hmem.model.config.Presets;
import dev.hmem.model.corpus.Corpus;
import dev.hmem.model.corpus.CorpusBuilder;
import dev.hmem.model.corpus.Document;
import dev.hmem.model.corpus.Fact;
import dev.hmem.model.corpus.FactTables;
import dev.hmem.model.generate.BatchGenerator;
import dev.hmem.model.generate.GenerationRequest;
import dev.hmem.model.generate.SamplingParams;
import dev.hmem.model.io.DType;
import dev.hmem.model.memory.BankManifest;
import dev.hmem.model.memory.BlockId;
import dev.hmem.model.memory.MemoryBank;
import dev.hmem.model.memory.MemoryBlock;
import dev.hmem.model.memory.MemoryPath;
import dev.hmem.model.memory.RandomBank;
import dev.hmem.model.router.MiniLmEmbedder;
import dev.hmem.model.router.Router;
import dev.hmem.model.tokenizer.BpeTrainer;
import dev.hmem.operators.engine.BlockCache;
import dev.hmem.operators.engine.EngineMetrics;
import dev.hmem.operators.records.RawRecord;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Serving benchmarks on the brief's 31.5M reference anchor with a random bank much larger than the
 * cache: (1) end-to-end tokens/s of the streaming job against the offline batched generator on the
 * same prompts in the same run; (2) the full design against a naive variant (round-robin routing,
 * no cache, batch 1) under a Zipf workload; (3) block-cache hit rate against cache budget.
 */
public final class ServeBench {

    public record Options(Path work, int prompts, int maxNewTokens, double zipf, long cacheMb, Path report) {}

    static final int[] NEURONS = {96, 48, 10};
    private final Options o;

    public ServeBench(Options o) {
        this.o = o;
    }

    public String run() throws Exception {
        Path model = o.work().resolve("model"), bank = o.work().resolve("bank");
        ensureModel(model, bank);
        List<String> workload;
        Map<String, List<String>> clusters;
        try (MemoryBank b = MemoryBank.open(bank)) {
            List<String> pool = pool(3000);
            clusters = PromptPool.byLeaf(pool, b.tree());
            Workload w = new Workload(clusters, o.zipf(), 1000, 1, 11);
            workload = new ArrayList<>();
            for (int i = 0; i < o.prompts(); i++) workload.add(w.nextPrompt());
        }
        System.err.printf("%d prompts over %d leaf clusters (Zipf s=%.1f)%n", workload.size(), clusters.size(), o.zipf());

        double offlineTps = offline(model, bank, workload);
        System.err.printf(Locale.ROOT, "offline batched generator: %.1f tokens/s%n", offlineTps);
        Path kafkaDir = Files.createDirectories(o.work().resolve("run"));
        LoadReport full, naive;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(kafkaDir)) {
            full = job(kafka, "full", model, bank, workload, clusters, List.of("--max-batch", "32",
                    "--cache-mb", Long.toString(o.cacheMb()), "--pinned-levels", "1", "--routing", "affinity"));
            System.err.println("full design:\n" + full.format());
            naive = job(kafka, "naive", model, bank, workload, clusters, List.of("--max-batch", "1",
                    "--cache-mb", "0", "--pinned-levels", "0", "--routing", "round-robin"));
            System.err.println("naive:\n" + naive.format());
        }
        String sweep = cacheSweep(bank, clusters);
        String md = report(offlineTps, full, naive, sweep, clusters.size());
        if (o.report() != null) BenchReport.writeSection(o.report(), "serve", md);
        return md;
    }

    /** Prompts: probes of every fact table, shuffled. */
    private static List<String> pool(int n) throws IOException {
        List<String> all = new ArrayList<>();
        for (FactTables.Relation r : FactTables.Relation.values()) for (Fact f : FactTables.facts(r)) all.add(f.probe());
        java.util.Collections.shuffle(all, new Random(3));
        return all.subList(0, Math.min(n, all.size()));
    }

    private void ensureModel(Path model, Path bank) throws IOException {
        if (Files.exists(bank.resolve(BankManifest.FILE))) return;
        System.err.println("creating the benchmark model and a ~2.7 GB bank in " + o.work() + " (once)");
        Corpus corpus = CorpusBuilder.build(dev.hmem.model.train.TrainConfigs.demo(1).corpus(), CorpusBuilder.PROSE_DIR);
        List<String> texts = new ArrayList<>();
        for (Document d : corpus.documents()) texts.add(d.text());
        BpeTrainer.Vocabulary v = BpeTrainer.train(texts, 8192, 2);
        BpeTrainer.write(v, model, 512);
        ModelConfig c = Presets.bench(v.size(), v.bosId(), v.eosId());
        String fp;
        try (AnchorWeights w = AnchorWeights.random(c, 1)) {
            fp = w.save(model, DType.F32);
        }
        RandomBank.create(bank, new BankManifest.Anchor(fp, c.hiddenSize(), c.numLayers()), 16, 3, NEURONS, 0,
                DType.F32, false, 3);
    }

    /** The offline batched generator on the same prompts: routing, block loading and generation timed. */
    private double offline(Path modelDir, Path bankDir, List<String> prompts) throws IOException {
        try (Anchor a = Anchor.load(modelDir); MemoryBank b = MemoryBank.open(bankDir);
             Router router = new Router(MiniLmEmbedder.load(0), b.tree());
             NDManager m = NDManager.newBaseManager();
             BatchGenerator g = new BatchGenerator(a.transformer(), a.tokenizer()::decode, 32, 64, 2048)) {
            g.autoThreads(Runtime.getRuntime().availableProcessors());
            router.route(prompts.subList(0, 8));  // warm up ONNX Runtime
            long t0 = System.nanoTime();
            List<MemoryPath> paths = new ArrayList<>();
            for (int i = 0; i < prompts.size(); i += 32) paths.addAll(router.route(prompts.subList(i, Math.min(prompts.size(), i + 32))));
            long tRouted = System.nanoTime();
            Map<BlockId, MemoryBlock> loaded = new HashMap<>();
            for (int i = 0; i < prompts.size(); i++) {
                List<MemoryBlock> blocks = new ArrayList<>();
                for (BlockId id : b.blocksFor(paths.get(i))) {
                    MemoryBlock blk = loaded.get(id);
                    if (blk == null) {
                        blk = b.load(id, m);
                        loaded.put(id, blk);
                    }
                    blocks.add(blk.retain());
                }
                g.submit(new GenerationRequest("o" + i, a.tokenizer().encode(prompts.get(i)),
                        SamplingParams.greedy(o.maxNewTokens()).withIgnoreEos(true), blocks, paths.get(i).toString()));
            }
            long tLoaded = System.nanoTime();
            long tokens = 0, prefillNanos = 0, decodeNanos = 0, steps = 0, rows = 0;
            while (!g.isIdle()) {
                for (var c : g.step()) tokens += c.tokens().length;
                var st = g.lastStep();
                if (st.prefillRows() > 0) prefillNanos += st.nanos();
                else decodeNanos += st.nanos();
                steps++;
                rows += st.decodeRows();
            }
            long end = System.nanoTime();
            System.err.printf(Locale.ROOT, "offline: routing %.1f s, block loads %.1f s (%d blocks), generation %.1f s "
                            + "(steps with prefill %.1f s, decode-only steps %.1f s; %d steps, %.1f rows per step)%n",
                    (tRouted - t0) / 1e9, (tLoaded - tRouted) / 1e9, loaded.size(), (end - tLoaded) / 1e9,
                    prefillNanos / 1e9, decodeNanos / 1e9, steps, (double) rows / steps);
            return tokens / ((end - t0) / 1e9);
        }
    }

    /** Runs the job on a local MiniCluster, warms it up, then sends the whole workload at once. */
    private LoadReport job(EmbeddedKafka kafka, String name, Path model, Path bank, List<String> workload,
                           Map<String, List<String>> clusters, List<String> variant) throws Exception {
        kafka.createTopics(2, name + "-prompts", name + "-results", name + "-dlq");
        List<String> args = new ArrayList<>(List.of("--bootstrap-servers", kafka.bootstrapServers(),
                "--prompts-topic", name + "-prompts", "--results-topic", name + "-results", "--dead-letter-topic", name + "-dlq",
                "--group-id", name, "--transactional-id-prefix", name, "--model", model.toString(), "--bank", bank.toString(),
                "--parallelism", "2", "--torch-threads", "1", "--context", "64", "--max-new-tokens", Integer.toString(o.maxNewTokens()),
                "--checkpoint-interval-ms", "1000", "--starting-offsets", "latest", "--max-queued", "4096"));
        args.addAll(variant);
        InferenceOptions opts = InferenceOptions.fromArgs(args.toArray(new String[0]));
        Path flinkWork = Files.createDirectories(o.work().resolve("run/flink-" + name));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(LocalFlink.config(flinkWork, 0, 4));
        InferenceJob.configure(env, opts);
        DataStream<RawRecord> raw = env.fromSource(KafkaConnectors.prompts(opts, null), WatermarkStrategy.noWatermarks(), "prompts");
        InferenceJob.Outputs out = InferenceJob.defineWorkflow(raw, opts);
        out.results().sinkTo(KafkaConnectors.results(opts));
        out.deadLetters().sinkTo(KafkaConnectors.deadLetters(opts));
        JobClient client = env.executeAsync("bench-" + name);
        try {
            Thread.sleep(5000);
            // Warm-up: models loaded, ONNX Runtime and PyTorch kernels initialised, on a few prompts.
            LoadGenerator.run(new LoadGenerator.Options(kafka.bootstrapServers(), name + "-prompts", name + "-results",
                    1, 0, o.maxNewTokens(), 1e9, 120), new Workload(clusters, o.zipf(), 8, 1, 5));
            // The measured burst: every prompt at once (the generator sees a full queue).
            Map<String, List<String>> fixed = new LinkedHashMap<>();
            for (int i = 0; i < workload.size(); i++) fixed.put(String.format("%06d", i), List.of(workload.get(i)));
            return LoadGenerator.run(new LoadGenerator.Options(kafka.bootstrapServers(), name + "-prompts", name + "-results",
                    workload.size() / 2000.0, 0, o.maxNewTokens(), 10_000, 900), new Workload(fixed, 0, 2000, 1, 7));
        } finally {
            client.cancel().get();
        }
    }

    /** Hit rate of the block cache (pinned level 1) on the Zipf request stream, per budget. */
    private String cacheSweep(Path bankDir, Map<String, List<String>> clusters) throws Exception {
        List<MemoryPath> stream = new ArrayList<>();
        List<String> keys = new ArrayList<>(clusters.keySet());
        Workload w = new Workload(fixedClusters(keys), o.zipf(), 1000, 1, 13);
        for (int i = 0; i < 3000; i++) stream.add(MemoryPath.parse(w.nextPrompt()));
        StringBuilder sb = new StringBuilder("| cache budget (MiB) | share of bank | hit rate, level 2 | hit rate, level 3 | hit rate, all levels |\n|---|---|---|---|---|\n");
        ExecutorService loaders = Executors.newFixedThreadPool(2);
        try (MemoryBank bank = MemoryBank.open(bankDir)) {
            long bankBytes = bank.manifest().bankParameters() * 4;
            for (long mb : new long[] {16, 64, 128, 256, 512, 1024, 2048}) {
                AtomicLong[] hits = {new AtomicLong(), new AtomicLong(), new AtomicLong(), new AtomicLong()};
                AtomicLong[] misses = {new AtomicLong(), new AtomicLong(), new AtomicLong(), new AtomicLong()};
                EngineMetrics m = new EngineMetrics() {
                    @Override public void cacheHit(int level) { hits[level].incrementAndGet(); }
                    @Override public void cacheMiss(int level) { misses[level].incrementAndGet(); }
                };
                try (BlockCache cache = new BlockCache(bank, mb << 20, 1, loaders, m)) {
                    for (MemoryPath p : stream) for (MemoryBlock b : cache.acquire(bank.blocksFor(p)).get()) b.release();
                }
                long h = 0, t = 0;
                for (int l = 1; l <= 3; l++) {
                    h += hits[l].get();
                    t += hits[l].get() + misses[l].get();
                }
                sb.append(String.format(Locale.ROOT, "| %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% |%n", mb, 100.0 * (mb << 20) / bankBytes,
                        rate(hits[2], misses[2]), rate(hits[3], misses[3]), 100.0 * h / t));
            }
        } finally {
            loaders.shutdownNow();
        }
        return sb.toString();
    }

    private static Map<String, List<String>> fixedClusters(List<String> leaves) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (String l : leaves) m.put(l, List.of(l));
        return m;
    }

    private static double rate(AtomicLong h, AtomicLong m) {
        long t = h.get() + m.get();
        return t == 0 ? Double.NaN : 100.0 * h.get() / t;
    }

    private String report(double offlineTps, LoadReport full, LoadReport naive, String sweep, int clusters) {
        StringBuilder sb = new StringBuilder("## Streaming serving (issue 4)\n\n");
        sb.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        sb.append(String.format(Locale.ROOT, "Anchor: the 31.5M reference Llama (random weights); bank: k=16, depth 3, "
                + "96+48+10 neurons per level, 2.7 GiB in f32 (the cache gets %d MiB + pinned level 1). Workload: %d prompts "
                + "(fact probes) drawn Zipf(s=%.1f) over %d leaf clusters, %d new tokens each, all sent at once "
                + "(saturation); the job runs on a local MiniCluster with the in-process Kafka broker, 2 generate subtasks "
                + "× 1 PyTorch thread, exactly-once with 1 s checkpoints.%n%n", o.cacheMb(), o.prompts(), o.zipf(), clusters,
                o.maxNewTokens()));
        sb.append("| variant | output tokens/s | requests/s | p50 latency (ms) | p99 latency (ms) | cache hit rate |\n|---|---|---|---|---|---|\n");
        sb.append(String.format(Locale.ROOT, "| offline batched generator (same prompts, 2 threads, batch 32) | %.1f | – | – | – | – |%n", offlineTps));
        sb.append(row("hmem job, full design (affinity routing, cache, continuous batching ≤ 32)", full));
        sb.append(row("hmem job, naive (round-robin, no cache, batch 1)", naive));
        sb.append(String.format(Locale.ROOT, "%nEnd-to-end vs offline: **%.0f%%** (target ≥ 85%%). Full vs naive: **%.1fx** (target ≥ 5x).%n%n",
                100 * full.tokensPerSecond() / offlineTps, full.tokensPerSecond() / naive.tokensPerSecond()));
        sb.append("### Block cache hit rate against budget\n\nThe same Zipf stream of 3,000 requests replayed through the "
                + "subtask's block cache (Caffeine W-TinyLFU weighted by bytes, level 1 pinned):\n\n").append(sweep);
        sb.append("\nReproduce: `./hmem bench serve` (writes this section; the first run creates the model and bank under ~/.cache/hmem/serve-bench).\n");
        return sb.toString();
    }

    private static String row(String name, LoadReport r) {
        return String.format(Locale.ROOT, "| %s | %.1f | %.2f | %.0f | %.0f | %.1f%% |%n", name, r.tokensPerSecond(),
                r.requestsPerSecond(), LoadReport.percentile(r.endToEndMs(), 50), LoadReport.percentile(r.endToEndMs(), 99),
                100 * r.hitRate());
    }
}
