package dev.hmem.cli.bench;

import dev.hmem.cli.cluster.ClusterJobs;
import dev.hmem.cli.cluster.LocalCluster;
import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.cli.loadtest.EngineTime;
import dev.hmem.cli.loadtest.LoadTest;
import dev.hmem.cli.loadtest.PromptPool;
import dev.hmem.cli.loadtest.Slo;
import dev.hmem.cli.loadtest.Workload;
import dev.hmem.cli.report.Charts;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.runtime.router.Router;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Load tests as users run them, on the local multi-process cluster (broker, JobManager and two
 * TaskManagers as separate processes; the load generator in this one): a rate sweep to capacity
 * with latency and throughput curves; the job's throughput at saturation against its own engine
 * alone in the same layout; the full design against the naive one; the working-set cliff (hit rate
 * and throughput against the block-cache budget at a fixed rate); and Zipf exponents 0.6, 1.0, 1.2.
 * Writes its section of docs/BENCHMARKS.md and the plots under docs/bench/.
 */
public final class ClusterBench {

    /**
     * @param work   where the benchmark model lives (created once) and the cluster runs
     * @param model  a model directory instead of the benchmark model (with {@code bank})
     */
    public record Options(Path work, Path model, Path bank, Path jobJar, Path flinkHome, Path deployDir, int maxNewTokens,
                          double stepSeconds, double warmup, int cacheMb, Path report, Path plots) {}

    private final Options o;
    private final StringBuilder md = new StringBuilder();

    public ClusterBench(Options o) {
        this.o = o;
    }

    /**
     * The job on the local cluster as the benchmarks run it: topics and consumer group of its own, 2 generate subtasks
     * of one thread, 1 s checkpoints, reading from the latest offsets, the serving variant {@code variant} on top.
     */
    InferenceOptions job(LocalCluster c, String name, UnaryOperator<ServingConfig.Builder> variant) throws Exception {
        EmbeddedKafka.createTopics(c.bootstrapServers(), 2, name + "-prompts", name + "-results", name + "-dlq");
        ServingConfig serving = variant.apply(ServingConfig.builder(model().toString(), bank().toString())
                .parallelism(2).torchThreads(1).generator(g -> g.context(128)).maxQueued(256)
                .defaultMaxNewTokens(o.maxNewTokens())).build();
        return InferenceOptions.builder(c.bootstrapServers(), serving)
                .topics(name + "-prompts", name + "-results", name + "-dlq").groupId(name).transactionalIdPrefix(name)
                .checkpointIntervalMs(1000).startingOffsets("latest").build();
    }

    Path model() {
        return o.model() != null ? o.model() : BenchModel.model(o.work());
    }

    Path bank() {
        return o.bank() != null ? o.bank() : BenchModel.bank(o.work());
    }

    /** The full design: batches of 32, a block cache of {@code cacheMb}, level 1 pinned, affinity routing. */
    static UnaryOperator<ServingConfig.Builder> full(int cacheMb) {
        return s -> s.generator(g -> g.maxBatch(32)).cache(cacheMb, 1).routing(ServingConfig.Routing.AFFINITY);
    }

    /** The naive design: one prompt at a time, no cache, round-robin. */
    static final UnaryOperator<ServingConfig.Builder> NAIVE =
            s -> s.generator(g -> g.maxBatch(1)).cache(0, 0).routing(ServingConfig.Routing.ROUND_ROBIN);

    public String run() throws Exception {
        return run(false);
    }

    /**
     * @param ratioOnly only the job against its engine and against the naive design (the engine
     *                  alone, a sweep to capacity, the naive job at that capacity), in its own section
     */
    public String run(boolean ratioOnly) throws Exception {
        if (ratioOnly) return ratio();
        Setup setup = setup();
        Map<String, List<String>> clusters = setup.clusters();
        double engineTps = setup.engine().tokensPerSecond();

        LocalCluster c = LocalCluster.at(o.work().resolve("cluster"));
        c.up(new LocalCluster.Options(o.flinkHome(), o.deployDir(), 2, 1, 4096, 0, Map.of()));
        double capacity;
        try {
            ClusterJobs jobs = new ClusterJobs(c, o.jobJar());
            // 1. The full design: a rate sweep to capacity, Zipf 1.0.
            String id = jobs.submit(job(c, "full", full(o.cacheMb())), null);
            jobs.awaitRunning(id, Duration.ofMinutes(3));
            LoadTest.Run sweep = load(c, "full", clusters, 1.0, List.of(1.0, 2.0), true, o.plots().resolve("sweep"));
            capacity = sweep.capacity();
            double fullTps = sweep.steps().stream().mapToDouble(s -> s.outputTokensPerSecond()).max().orElse(0);
            LoadTest.Run low = load(c, "full", clusters, 1.0, List.of(Math.max(0.2, 0.1 * capacity)), false, o.plots().resolve("low-load"));
            Map<Double, LoadTest.Run> zipf = new LinkedHashMap<>();
            for (double s : new double[] {0.6, 1.0, 1.2}) {
                zipf.put(s, load(c, "full", clusters, s, List.of(0.7 * capacity), false, o.plots().resolve("zipf-" + s)));
            }
            c.rest().cancel(id);
            // 2. The naive design at its saturation.
            String naiveId = jobs.submit(job(c, "naive", NAIVE), null);
            jobs.awaitRunning(naiveId, Duration.ofMinutes(3));
            LoadTest.Run naive = load(c, "naive", clusters, 1.0, List.of(Math.max(1, capacity)), false, o.plots().resolve("naive"));
            c.rest().cancel(naiveId);
            // 3. The working-set cliff: cache budgets at a fixed rate.
            Map<Integer, LoadTest.Run> budgets = new LinkedHashMap<>();
            for (int mb : new int[] {16, 64, 256, 1024}) {
                String b = jobs.submit(job(c, "cache-" + mb, full(mb)), null);
                jobs.awaitRunning(b, Duration.ofMinutes(3));
                // Two steps at the same rate: the first fills the fresh job's cache (and warms its JIT),
                // the second is measured; a single cold step measured the filling, not the budget.
                LoadTest.Run r = load(c, "cache-" + mb, clusters, 1.0, List.of(0.7 * capacity, 0.7 * capacity), false,
                        o.plots().resolve("cache-" + mb));
                budgets.put(mb, r);
                c.rest().cancel(b);
            }
            report(setup.engine(), capacity, fullTps, sweep, low, naive, zipf, budgets, clusters.size());
        } finally {
            c.down();
        }
        if (o.report() != null) BenchReport.writeSection(o.report(), "loadtest", md.toString());
        String all = md.toString();
        md.setLength(0);
        backPressure(clusters, capacity);
        if (o.report() != null) BenchReport.writeSection(o.report(), "loadtest-checkpoints", md.toString());
        return all + "\n" + md;
    }

    /** The bench's prompts grouped by leaf, and the engine alone on them (2 engines x 1 thread, warm). */
    private record Setup(Map<String, List<String>> clusters, EngineBench.Result engine) {}

    /** The bench's prompts grouped by the leaf they route to (the workload's popularity classes). */
    private Map<String, List<String>> clusters(List<String> prompts) throws Exception {
        if (o.model() == null) BenchModel.ensure(o.work());
        Files.createDirectories(o.plots());
        try (MemoryBank b = MemoryBank.open(bank())) {
            return PromptPool.byLeaf(prompts, b.tree());
        }
    }

    private Setup setup() throws Exception {
        List<String> prompts = BenchModel.prompts(3000);
        Map<String, List<String>> clusters = clusters(prompts);
        ServingConfig engineCfg = ServingConfig.builder(model().toString(), bank().toString())
                .generator(g -> g.maxBatch(32).maxDistinctPaths(32).context(128)).cache(o.cacheMb(), 1).torchThreads(1)
                .loaderThreads(2).defaultMaxNewTokens(o.maxNewTokens()).build();
        EngineBench.Result engine = EngineBench.run(engineCfg, tasks(prompts, clusters, 1.0), 2, 20, 40);
        System.err.printf(Locale.ROOT, "engine alone (2 engines x 1 thread): %.1f tokens/s%n", engine.tokensPerSecond());
        return new Setup(clusters, engine);
    }

    private String ratio() throws Exception {
        Setup setup = setup();
        Map<String, List<String>> clusters = setup.clusters();
        double engineTps = setup.engine().tokensPerSecond();
        LocalCluster c = LocalCluster.at(o.work().resolve("cluster"));
        c.up(new LocalCluster.Options(o.flinkHome(), o.deployDir(), 2, 1, 4096, 0, Map.of()));
        StringBuilder out = new StringBuilder();
        try {
            ClusterJobs jobs = new ClusterJobs(c, o.jobJar());
            String id = jobs.submit(job(c, "full", full(o.cacheMb())), null);
            jobs.awaitRunning(id, Duration.ofMinutes(3));
            LoadTest.Run sweep = load(c, "full", clusters, 1.0, List.of(4.0, 8.0), true, o.plots().resolve("ratio-sweep"));
            double capacity = sweep.capacity();
            // A sweep's best step is often one the job kept up with, so its throughput is the offered
            // load, not the job's ceiling: one more step offers what the engine alone serves.
            double engineRate = engineTps / o.maxNewTokens();
            LoadTest.Run atEngine = load(c, "full", clusters, 1.0, List.of(engineRate), false, o.plots().resolve("ratio-at-engine-rate"));
            List<dev.hmem.cli.loadtest.StepStats> steps = new ArrayList<>(sweep.steps());
            steps.addAll(atEngine.steps());
            double fullTps = steps.stream().mapToDouble(s -> s.outputTokensPerSecond()).max().orElse(0);
            c.rest().cancel(id);
            String naiveId = jobs.submit(job(c, "naive", NAIVE), null);
            jobs.awaitRunning(naiveId, Duration.ofMinutes(3));
            LoadTest.Run naive = load(c, "naive", clusters, 1.0, List.of(Math.max(1, capacity)), false, o.plots().resolve("ratio-naive"));
            c.rest().cancel(naiveId);
            double naiveTps = naive.steps().get(0).outputTokensPerSecond();
            out.append("## The job against its engine (issue 10, `bench cluster --ratio-only`)\n\n");
            out.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
            out.append(String.format(Locale.ROOT, "As the load tests above (31.5M reference model, 2.7 GiB bank, 2 generate subtasks × 1 thread, "
                    + "`--max-batch 32`, %d MiB cache, Zipf 1.0, exactly-once with 1 s checkpoints), measured in one run: the engine "
                    + "alone, a rate sweep of the job to capacity, then the naive job at that capacity. Steps of %.0f s, the first "
                    + "%.0f s excluded.%n%n", o.cacheMb(), o.stepSeconds(), o.warmup()));
            out.append(dev.hmem.cli.loadtest.LoadTest.summary(new LoadTest.Run(steps, List.of(), capacity))).append('\n');
            out.append("Where the time went, per step (the last step offers the engine alone's rate, ")
                    .append(String.format(Locale.ROOT, "%.2f requests/s", engineRate)).append("):\n\n");
            out.append(timeTable(steps, setup.engine())).append('\n');
            out.append("| variant | output tokens/s | |\n|---|---|---|\n");
            out.append(String.format(Locale.ROOT, "| the engine alone, 2 engines × 1 thread, the same prompts and cache budget, warm | %.1f | |%n", engineTps));
            out.append(String.format(Locale.ROOT, "| the job at saturation (best step above; capacity %.2f requests/s) | %.1f | **%.0f%%** of the engine (target ≥ 80%%) |%n",
                    capacity, fullTps, 100 * fullTps / engineTps));
            out.append(String.format(Locale.ROOT, "| the naive job (round-robin, no cache, batch 1) at %.2f requests/s | %.1f | full design **%.1f×** naive (target ≥ 5×) |%n%n",
                    naive.steps().get(0).offeredRate(), naiveTps, fullTps / naiveTps));
            dev.hmem.cli.loadtest.StepStats best = steps.stream().max(java.util.Comparator.comparingDouble(
                    dev.hmem.cli.loadtest.StepStats::outputTokensPerSecond)).orElseThrow();
            out.append(perCore(best, setup.engine())).append('\n');
            out.append("Reproduce: `./hmem bench cluster --ratio-only` (about 20 minutes; per-step files under `docs/bench/ratio-*`).\n");
        } finally {
            c.down();
        }
        if (o.report() != null) BenchReport.writeSection(o.report(), "loadtest-ratio", out.toString());
        return out.toString();
    }

    /**
     * Checkpoint durations under back-pressure (twice the capacity offered): the job's network
     * buffers full of prompts in front of the busy generate subtasks, which aligned barriers wait
     * behind. Each variant is a cluster of its own, since buffer debloating is a TaskManager setting.
     */
    private void backPressure(Map<String, List<String>> clusters, double capacity) throws Exception {
        Map<String, Map<String, String>> variants = new LinkedHashMap<>();
        variants.put("aligned, no buffer debloating", Map.of("taskmanager.network.memory.buffer-debloat.enabled", "false",
                "execution.checkpointing.unaligned.enabled", "false"));
        variants.put("aligned + buffer debloating (deploy/config.yaml)", Map.of("taskmanager.network.memory.buffer-debloat.enabled", "true",
                "execution.checkpointing.unaligned.enabled", "false"));
        variants.put("unaligned requested, no buffer debloating", Map.of("taskmanager.network.memory.buffer-debloat.enabled", "false",
                "execution.checkpointing.unaligned.enabled", "true"));
        md.append("## Checkpoints under back-pressure (issue 9)\n\n");
        md.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        md.append(String.format(Locale.ROOT, "The full design offered %.2f requests/s (twice its capacity) for %.0f s on a fresh cluster per "
                + "variant; durations (trigger to completion, Flink's REST checkpoint history) of the checkpoints completed after the "
                + "warm-up. Unaligned checkpoints cannot apply to the custom-partitioned edge into the generate operator (its in-flight "
                + "prompts could not be redistributed on a rescale).%n%n",
                2 * capacity, o.stepSeconds()));
        md.append("| variant | checkpoints completed | mean duration ms | max duration ms | achieved req/s |\n|---|---|---|---|---|\n");
        int n = 0;
        for (Map.Entry<String, Map<String, String>> v : variants.entrySet()) {
            Map<String, String> conf = new LinkedHashMap<>(v.getValue());
            conf.put("web.checkpoints.history", "1000");  // the default keeps only the last 10
            LocalCluster c = LocalCluster.at(o.work().resolve("cluster-bp" + n++));
            c.up(new LocalCluster.Options(o.flinkHome(), o.deployDir(), 2, 1, 4096, 0, conf));
            try {
                ClusterJobs jobs = new ClusterJobs(c, o.jobJar());
                String id;
                try {
                    id = jobs.submit(job(c, "bp", full(o.cacheMb())), null);
                } catch (Exception refused) {
                    // Flink refuses some settings for this job's graph (unaligned checkpoints with a
                    // custom partitioner): that refusal is the result for the variant.
                    String why = String.valueOf(refused.getMessage()).replaceAll("\\s+", " ").replace("|", "/");
                    md.append(String.format(Locale.ROOT, "| %s | refused by Flink at submission: %s | | | |%n", v.getKey(),
                            why.length() > 300 ? why.substring(0, 300) + "…" : why));
                    continue;
                }
                jobs.awaitRunning(id, Duration.ofMinutes(3));
                var st = load(c, "bp", clusters, 1.0, List.of(2 * capacity), false, o.plots().resolve("backpressure-" + n)).steps().get(0);
                Map<String, Double> cp = st.checkpoints();
                md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f | %.2f |%n", v.getKey(), cp.getOrDefault("count", 0.0),
                        cp.getOrDefault("mean_ms", Double.NaN), cp.getOrDefault("max_ms", Double.NaN), st.achievedRate()));
                c.rest().cancel(id);
            } finally {
                c.down();
            }
        }
        md.append("\nReproduce: `./hmem bench cluster` (this part: about 8 minutes).\n");
    }

    /**
     * Thread groups that are an engine's own work, by the names their threads get: the generate
     * operator's engine thread and its block loader ("hmem-generate-N", "hmem-generate-N-loader",
     * cut by Linux to 15 characters), the Java decode workers ("hmem-java-decode-N"), the bench's
     * engines ("bench-engine-N").
     */
    static final List<String> ENGINE_THREADS = List.of("hmem-generate", "hmem-java-decod", "bench-engine");

    /** Cores of {@link #ENGINE_THREADS} in a step's CPU accounting. */
    static double engineCores(Map<String, Map<String, Double>> cpu) {
        double sum = 0;
        for (Map.Entry<String, Map<String, Double>> p : cpu.entrySet()) {
            if (p.getKey().equals(dev.hmem.cli.cluster.CpuUsage.MACHINE)) continue;
            for (Map.Entry<String, Double> g : p.getValue().entrySet()) {
                if (ENGINE_THREADS.stream().anyMatch(g.getKey()::startsWith)) sum += g.getValue();
            }
        }
        return sum;
    }

    /**
     * The gap between the job and its engine split in two: CPU the engines did not get (other
     * processes on the same cores, Flink's and Kafka's own threads) and what the engines made of
     * the CPU they got (tokens per engine core).
     */
    static String perCore(dev.hmem.cli.loadtest.StepStats job, EngineBench.Result engine) {
        if (job.cpu().isEmpty() || engine.cpu().isEmpty()) return "";
        double jobCores = engineCores(job.cpu()), aloneCores = engineCores(engine.cpu());
        double tms = 0;
        for (Map.Entry<String, Map<String, Double>> p : job.cpu().entrySet()) {
            if (p.getKey().startsWith("taskmanager")) tms += dev.hmem.cli.cluster.CpuUsage.total(p.getValue());
        }
        double jobBusy = job.cpu().get(dev.hmem.cli.cluster.CpuUsage.MACHINE).get("busy");
        double aloneBusy = engine.cpu().get(dev.hmem.cli.cluster.CpuUsage.MACHINE).get("busy");
        double perJob = job.outputTokensPerSecond() / jobCores, perAlone = engine.tokensPerSecond() / aloneCores;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Where the gap goes, at the job's best step (%s) against the engine alone (CPU from /proc):%n%n", job.label()));
        sb.append("| | the engine alone | the job | job / engine |\n|---|---|---|---|\n");
        sb.append(String.format(Locale.ROOT, "| cores in engine threads (decode, prefill, block loads) | %.2f | %.2f | %.0f%% |%n",
                aloneCores, jobCores, 100 * jobCores / aloneCores));
        sb.append(String.format(Locale.ROOT, "| output tokens/s per engine core | %.0f | %.0f | %.0f%% |%n", perAlone, perJob, 100 * perJob / perAlone));
        sb.append(String.format(Locale.ROOT, "| cores in the TaskManagers' other threads (Kafka source and sink, decode, routing, Flink, GC, JIT) | – | %.2f | |%n",
                tms - jobCores));
        sb.append(String.format(Locale.ROOT, "| cores outside the engines' processes (broker, JobManager, load generator, the rest of the machine) "
                + "or, alone, in the bench's other threads | %.2f | %.2f | |%n", aloneBusy - aloneCores, jobBusy - tms));
        sb.append(String.format(Locale.ROOT, "%nThe job / engine ratio is the product of the first two rows (%.0f%% × %.0f%% = %.0f%%).%n",
                100 * jobCores / aloneCores, 100 * perJob / perAlone, 100 * (jobCores / aloneCores) * (perJob / perAlone)));
        return sb.toString();
    }

    /** The steps' time table with the engine alone as its last row. */
    private static String timeTable(List<dev.hmem.cli.loadtest.StepStats> steps, EngineBench.Result engine) {
        EngineTime e = engine.time();
        String row = String.format(Locale.ROOT, "| the engine alone | %.1f | %.0f%% | %.1f | %.1f | %.2f | %s |", engine.tokensPerSecond(),
                100 * e.busyShare(), e.rowsPerStep(), e.msPerStep(), e.prefillPerStep(), dev.hmem.cli.loadtest.LoadTestReport.cpu(engine.cpu()));
        return dev.hmem.cli.loadtest.LoadTestReport.timeTable(steps, List.of(row));
    }

    private LoadTest.Run load(LocalCluster c, String name, Map<String, List<String>> clusters, double zipf, List<Double> rates,
                              boolean sweep, Path out) throws Exception {
        return load(c, name, clusters, zipf, rates, sweep, out, o.maxNewTokens(), o.stepSeconds(), o.warmup(), 30);
    }

    private LoadTest.Run load(LocalCluster c, String name, Map<String, List<String>> clusters, double zipf, List<Double> rates,
                              boolean sweep, Path out, int maxNewTokens, double seconds, double warmup, double drain) throws Exception {
        Workload w = new Workload(clusters, zipf, rates.get(0), 1, 11);
        return LoadTest.run(new LoadTest.Options(c.bootstrapServers(), Map.of(), name + "-prompts", name + "-results", rates,
                List.of(), sweep, seconds, warmup, drain, maxNewTokens, Slo.parse("ttft=1000,tpot=200,e2e=5000"),
                c.rest().address(), null, out, name, cpuPids(c)), w);
    }

    /**
     * Overload without collapse (issue 16): a sweep to the full design's capacity, then a few minutes each at twice and
     * four times it with the job's admission control (a full subtask sheds the excess as "overloaded"), the same twice
     * with back-pressure instead (the behaviour before it), and long generations (max_new_tokens at the job's limit) at
     * 1.2 and 2 times their own capacity (a sweep of their own). Per step: served requests/s (answers that are not errors) against capacity, the share
     * answered "overloaded", checkpoint durations, restarts, and duplicate answers (exactly-once).
     */
    public String overload() throws Exception {
        Map<String, List<String>> clusters = clusters(BenchModel.prompts(3000));
        StringBuilder out = new StringBuilder();
        LocalCluster c = LocalCluster.at(o.work().resolve("cluster-overload"));
        c.up(new LocalCluster.Options(o.flinkHome(), o.deployDir(), 2, 1, 4096, 0, Map.of("web.checkpoints.history", "1000")));
        List<String[]> rows = new ArrayList<>();
        try {
            ClusterJobs jobs = new ClusterJobs(c, o.jobJar());
            String id = jobs.submit(job(c, "ov-sweep", full(o.cacheMb())), null);
            jobs.awaitRunning(id, Duration.ofMinutes(3));
            double capacity = load(c, "ov-sweep", clusters, 1.0, List.of(4.0, 8.0), true, o.plots().resolve("overload-sweep"),
                    o.maxNewTokens(), 40, 10, 30).capacity();
            c.rest().cancel(id);
            System.err.printf(Locale.ROOT, "capacity %.2f requests/s%n", capacity);
            // Long generations: the bench model's context is 512, so the job's limit is 448 new tokens. Their capacity is
            // measured by a sweep of its own: scaling the short one by tokens per request ignores that prefill, routing and
            // the per-request costs do not grow with the answer (the estimate was 40% off in the first run).
            int longTokens = 448;
            UnaryOperator<ServingConfig.Builder> longJob = s -> full(o.cacheMb()).apply(s).maxNewTokens(longTokens, longTokens)
                    .generator(g -> g.context(512));
            String longSweep = jobs.submit(job(c, "ov-long-sweep", longJob), null);
            jobs.awaitRunning(longSweep, Duration.ofMinutes(3));
            double longCapacity = load(c, "ov-long-sweep", clusters, 1.0, List.of(0.5), true, o.plots().resolve("overload-long-sweep"),
                    longTokens, 60, 20, 60).capacity();
            c.rest().cancel(longSweep);
            System.err.printf(Locale.ROOT, "long generations: capacity %.2f requests/s%n", longCapacity);
            double secs = Math.max(o.stepSeconds(), 120);
            for (String when : List.of("shed", "wait")) {
                ServingConfig.WhenFull wf = when.equals("shed") ? ServingConfig.WhenFull.SHED : ServingConfig.WhenFull.WAIT;
                for (double x : when.equals("shed") ? new double[] {2, 4} : new double[] {2}) {
                    String name = "ov-" + when + "-" + (int) x;
                    rows.add(overloadStep(c, jobs, name, s -> full(o.cacheMb()).apply(s).whenFull(wf), clusters, x, capacity,
                            o.maxNewTokens(), secs, "--when-full " + when + ", " + x + "× capacity"));
                }
            }
            for (double x : new double[] {1.2, 2}) {
                rows.add(overloadStep(c, jobs, "ov-long-" + (int) (10 * x), longJob, clusters, x, longCapacity, longTokens, secs,
                        "max_new_tokens " + longTokens + " (the limit), " + x + "× its capacity"));
            }
            out.append("## Overload (issue 16, `bench cluster --overload`)\n\n");
            out.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
            out.append(String.format(Locale.ROOT, "The full design on the local cluster (2 TaskManagers × 1 generate subtask, deploy/config.yaml: "
                    + "aligned checkpoints every 1 s, buffer debloating on), capacity %.2f requests/s (a sweep, %d new tokens) "
                    + "and %.2f requests/s for long generations (a sweep of their own, %d new tokens); each step %.0f s after %.0f s of "
                    + "warm-up, on a fresh job, answers awaited 90 s after it. Served = answers that are not errors, per second; "
                    + "checkpoint durations from Flink's checkpoint history over the step.%n%n", capacity, o.maxNewTokens(), longCapacity,
                    longTokens, secs, 20.0));
            out.append("| step | offered req/s | served req/s | served / capacity | answered overloaded | unanswered | checkpoints | mean / max ms | restarts | duplicates |\n");
            out.append("|---|---|---|---|---|---|---|---|---|---|\n");
            for (String[] r : rows) out.append("| ").append(String.join(" | ", r)).append(" |\n");
            out.append("\nReproduce: `./hmem bench cluster --overload` (about 35 minutes).\n");
        } finally {
            c.down();
        }
        if (o.report() != null) BenchReport.writeSection(o.report(), "loadtest-overload", out.toString());
        return out.toString();
    }

    private String[] overloadStep(LocalCluster c, ClusterJobs jobs, String name, UnaryOperator<ServingConfig.Builder> variant,
                                  Map<String, List<String>> clusters, double times, double capacity, int maxNewTokens, double seconds,
                                  String label) throws Exception {
        String id = jobs.submit(job(c, name, variant), null);
        jobs.awaitRunning(id, Duration.ofMinutes(3));
        // A long drain: with back-pressure (--when-full wait) the queue's answers arrive long after the step, and
        // "unanswered" should count what was lost or stuck, not what was late.
        LoadTest.Run run = load(c, name, clusters, 1.0, List.of(times * capacity), false, o.plots().resolve(name), maxNewTokens,
                seconds, 20, 90);
        dev.hmem.cli.loadtest.StepStats s = run.steps().get(0);
        long overloaded = run.overloaded(0);
        double served = s.answered() == 0 ? 0 : s.achievedRate() * (s.answered() - s.errors()) / s.answered();
        Map<String, Double> cp = s.checkpoints();
        String restarts = c.rest().rootException(id).map(e -> "yes: " + e.replace("|", "/")).orElse("0");
        c.rest().cancel(id);
        System.err.printf(Locale.ROOT, "%s: served %.2f req/s (capacity %.2f), checkpoints %.0f mean %.0f max %.0f ms%n", label,
                served, capacity, cp.getOrDefault("count", 0.0), cp.getOrDefault("mean_ms", Double.NaN), cp.getOrDefault("max_ms", Double.NaN));
        return new String[] {label, String.format(Locale.ROOT, "%.2f", times * capacity), String.format(Locale.ROOT, "%.2f", served),
                String.format(Locale.ROOT, "%.0f%%", 100 * served / capacity),
                String.format(Locale.ROOT, "%d of %d", overloaded, s.measured()), Integer.toString(s.unanswered()),
                String.format(Locale.ROOT, "%.0f", cp.getOrDefault("count", 0.0)),
                String.format(Locale.ROOT, "%.0f / %.0f", cp.getOrDefault("mean_ms", Double.NaN), cp.getOrDefault("max_ms", Double.NaN)),
                restarts, Long.toString(run.duplicates())};
    }

    /** The cluster's processes and this one (the load generator) for each step's CPU accounting. */
    private static Map<String, Long> cpuPids(LocalCluster c) throws Exception {
        Map<String, Long> pids = new LinkedHashMap<>(c.livePids());
        pids.put("bench (load generator)", ProcessHandle.current().pid());
        return pids;
    }

    /** The load test's prompts as the generate operator receives them: routed and tokenized. */
    private List<PromptTask> tasks(List<String> prompts, Map<String, List<String>> clusters, double zipf) throws Exception {
        Workload w = new Workload(clusters, zipf, 1, 1, 11);
        List<PromptTask> out = new ArrayList<>();
        try (MemoryBank b = MemoryBank.open(bank()); Router router = new Router(MiniLmEmbedder.load(0), b.tree());
             TextTokenizer tok = TextTokenizer.load(model())) {
            for (int i = 0; i < 2000; i++) {
                String text = w.next().prompt();
                String path = router.route(text).toString();
                long now = System.currentTimeMillis();
                out.add(new PromptTask("bench@" + i, "b" + i, text, null, "bench", 0, i, tok.encode(text), o.maxNewTokens(), 0, 0, 1,
                        i, new String[0], null, false, Map.of(), now, now, path, 0, Long.MAX_VALUE, 0, null, null, false, false));
            }
        }
        return out;
    }

    private void report(EngineBench.Result engine, double capacity, double fullTps, LoadTest.Run sweep, LoadTest.Run low,
                        LoadTest.Run naive, Map<Double, LoadTest.Run> zipf, Map<Integer, LoadTest.Run> budgets, int clusters)
            throws Exception {
        md.append("## Load tests on the local multi-process cluster (issue 10)\n\n");
        md.append("Machine: ").append(BenchReport.machine()).append(".\n\n");
        md.append(String.format(Locale.ROOT, "The 31.5M reference Llama (random weights) with a random k=16, depth-3 bank of ~2.7 GiB; "
                + "prompts are fact probes drawn Zipf over the %d leaves they route to, Poisson arrivals, %d new tokens each. "
                + "The job runs on `./hmem cluster up`'s cluster — a Kafka broker, a JobManager and two TaskManagers, each its own "
                + "process — with 2 generate subtasks × 1 PyTorch thread, `--max-batch 32`, a %d MiB block cache per subtask "
                + "(level 1 pinned), exactly-once with 1 s checkpoints; the load generator runs in the benchmark's own process. "
                + "Each step runs %.0f s, the first %.0f s excluded.%n%n", clusters, o.maxNewTokens(), o.cacheMb(), o.stepSeconds(), o.warmup()));
        double engineTps = engine.tokensPerSecond();
        md.append("### Rate sweep (full design, Zipf 1.0)\n\n").append(dev.hmem.cli.loadtest.LoadTest.summary(sweep)).append('\n');
        md.append("Where the time went, per step, and in the engine alone:\n\n").append(timeTable(sweep.steps(), engine)).append('\n');
        md.append(String.format(Locale.ROOT, "Capacity (highest rate that keeps up: ≥ 90%% achieved, ≤ 5%% unanswered): **%.2f requests/s**.%n%n", capacity));
        md.append("![latency against load](bench/sweep/latency-vs-load.png) ![throughput against load](bench/sweep/throughput-vs-load.png)\n\n");
        md.append("![TTFT distribution per step](bench/sweep/ttft-cdf.png)\n\n");
        double naiveTps = naive.steps().get(0).outputTokensPerSecond();
        md.append("### The job against its engine, and against the naive design\n\n");
        md.append("| variant | output tokens/s | |\n|---|---|---|\n");
        md.append(String.format(Locale.ROOT, "| the engine alone, 2 engines × 1 thread, the same prompts and cache budget, warm | %.1f | |%n", engineTps));
        md.append(String.format(Locale.ROOT, "| the job at saturation (best step of the sweep) | %.1f | **%.0f%%** of the engine (target ≥ 80%%) |%n",
                fullTps, 100 * fullTps / engineTps));
        md.append(String.format(Locale.ROOT, "| the naive job (round-robin, no cache, batch 1) at %.2f requests/s | %.1f | full design **%.1f×** naive (target ≥ 5×) |%n%n",
                naive.steps().get(0).offeredRate(), naiveTps, fullTps / naiveTps));
        md.append("### Low load (10% of capacity)\n\n").append(dev.hmem.cli.loadtest.LoadTest.summary(low)).append('\n');
        md.append("### Zipf exponent (70% of capacity)\n\n| Zipf s | achieved req/s | output tok/s | TTFT p50 / p99 ms | hit rate (per level) |\n|---|---|---|---|---|\n");
        for (Map.Entry<Double, LoadTest.Run> e : zipf.entrySet()) {
            var s = e.getValue().steps().get(0);
            md.append(String.format(Locale.ROOT, "| %.1f | %.2f | %.1f | %.0f / %.0f | %.1f%% (%s) |%n", e.getKey(), s.achievedRate(),
                    s.outputTokensPerSecond(), s.latency().get("ttft").p50(), s.latency().get("ttft").p99(), 100 * s.hitRate(), dev.hmem.cli.loadtest.LoadTestReport.levels(s)));
        }
        md.append("\n### The working-set cliff (70% of capacity, Zipf 1.0; a fresh job per budget, measured in a second step after one that fills its cache)\n\n| cache budget per subtask (MiB) | share of the bank | achieved req/s | output tok/s | TTFT p99 ms | hit rate, all levels | per level |\n|---|---|---|---|---|---|---|\n");
        double bankMib;
        try (MemoryBank b = MemoryBank.open(bank())) {
            bankMib = b.manifest().bankParameters() * 4.0 / (1 << 20);
        }
        double[] x = new double[budgets.size()], hit = new double[budgets.size()], tps = new double[budgets.size()];
        int i = 0;
        for (Map.Entry<Integer, LoadTest.Run> e : budgets.entrySet()) {
            var s = e.getValue().steps().get(e.getValue().steps().size() - 1);
            md.append(String.format(Locale.ROOT, "| %d | %.1f%% | %.2f | %.1f | %.0f | %.1f%% | %s |%n", e.getKey(), 100 * e.getKey() / bankMib,
                    s.achievedRate(), s.outputTokensPerSecond(), s.latency().get("ttft").p99(), 100 * s.hitRate(), dev.hmem.cli.loadtest.LoadTestReport.levels(s)));
            x[i] = e.getKey();
            hit[i] = 100 * s.hitRate();
            tps[i++] = s.outputTokensPerSecond();
        }
        XYChart c = Charts.xy("The working-set cliff: block cache budget at a fixed rate", "cache budget per subtask (MiB)", "");
        c.getStyler().setXAxisLogarithmic(true);
        c.addSeries("hit rate, all levels (%)", x, hit).setMarker(SeriesMarkers.CIRCLE);
        double maxTps = java.util.Arrays.stream(tps).max().orElse(1);
        double[] rel = java.util.Arrays.stream(tps).map(v -> 100 * v / maxTps).toArray();
        c.addSeries("output tokens/s (% of the best)", x, rel).setMarker(SeriesMarkers.SQUARE);
        Charts.save(c, o.plots().resolve("cache-cliff.png"));
        md.append("\n![the working-set cliff](bench/cache-cliff.png)\n\n");
        md.append("Reproduce: `./hmem bench cluster` (about 40 minutes; the first run builds the model and bank under ~/.cache/hmem/bench). "
                + "Per-step tables, per-request CSVs and plots of every part are under `docs/bench/`.\n");
    }
}
