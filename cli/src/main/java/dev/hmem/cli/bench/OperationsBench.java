package dev.hmem.cli.bench;

import dev.hmem.cli.control.ControlClient;
import dev.hmem.cli.demo.DemoModel;
import dev.hmem.cli.demo.LocalFlink;
import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.cli.kafka.PromptEncoder;
import dev.hmem.cli.loadtest.LoadTest;
import dev.hmem.cli.loadtest.Slo;
import dev.hmem.cli.loadtest.StepStats;
import dev.hmem.cli.loadtest.Workload;
import dev.hmem.jobs.inference.InferenceJob;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.jobs.inference.KafkaConnectors;
import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.runtime.Progress;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.PromptRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Live operations measured on the demo model, through the running job (in-process Flink with 2 generate subtasks and
 * an in-process broker): (1) blocking — every fact probe answered normally, with the level-1 subtree that holds the
 * most facts blocked, and by the anchor alone; (2) streaming — time to first token and inter-token latency as a
 * read_uncommitted and a read_committed client see the partial results, at 10% and 80% of the capacity the first
 * pass measured; (3) ten swaps between the bank and a copy of it under a light stream, command to every subtask's
 * report, and this process's resident memory before and after.
 */
public final class OperationsBench {

    public record Options(Path demoDir, Path work, double stepSeconds, Path out, Path report) {}

    private final Options o;
    private final StringBuilder md = new StringBuilder();

    public OperationsBench(Options o) {
        this.o = o;
    }

    public String run() throws Exception {
        DemoModel demo = DemoModel.ensure(o.demoDir());
        dev.hmem.cli.cluster.LocalCluster.deleteRecursively(o.work());
        Files.createDirectories(o.work());
        Path bankCopy = o.work().resolve("bank-copy");
        copyTree(demo.bank(), bankCopy);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(o.work().resolve("kafka"))) {
            kafka.createTopics(2, "ops-prompts", "ops-results", "ops-dlq", "ops-tokens");
            kafka.createTopics(1, "ops-control", "ops-control-status");
            ServingConfig serving = ServingConfig.builder(demo.model().toString(), demo.bank().toString())
                    .parallelism(2).defaultMaxNewTokens(6).torchThreads(1)
                    // every probe of a pass is sent at once: none may be shed or expire, or passes would differ by timing
                    .maxQueued(4096).queueDeadlineMs(0).build();
            InferenceOptions opt = InferenceOptions.builder(kafka.bootstrapServers(), serving).topics("ops-prompts", "ops-results", "ops-dlq")
                    .controlTopic("ops-control").tokenTopic("ops-tokens").sourceParallelism(1).checkpointIntervalMs(1000)
                    .startingOffsets("latest").build();
            StreamExecutionEnvironment env = LocalFlink.withWebUi(LocalFlink.config(o.work(), EmbeddedKafka.freePort(), 4));
            InferenceJob.configure(env, opt);
            DataStream<RawRecord> raw = env.fromSource(KafkaConnectors.prompts(opt, null), WatermarkStrategy.noWatermarks(), "prompts");
            DataStream<ControlCommand> control = env.fromSource(KafkaConnectors.control(opt), WatermarkStrategy.noWatermarks(), "control")
                    .setParallelism(1);
            InferenceJob.Outputs out = InferenceJob.defineWorkflow(raw, control, opt, dev.hmem.operators.engine.GenerationEngine.StepProbe.NONE);
            out.results().sinkTo(KafkaConnectors.results(opt));
            out.deadLetters().sinkTo(KafkaConnectors.deadLetters(opt));
            out.statuses().sinkTo(KafkaConnectors.statuses(opt));
            out.partials().sinkTo(KafkaConnectors.partials(opt));
            JobClient job = env.executeAsync("hmem operations bench");
            try {
                ControlClient client = new ControlClient(kafka.bootstrapServers(), Map.of(), "ops-control", "ops-control-status");
                // A warm-up: the job is up once it answers.
                ask(kafka, List.of(new DemoModel.Question("The capital of France is", "Paris", 0, 4)), "warm", false, Duration.ofMinutes(3));
                double capacity = blocking(kafka, demo, client);
                streaming(kafka, demo, capacity);
                swaps(kafka, demo, client, bankCopy);
            } finally {
                job.cancel().get();
            }
        }
        String text = md.toString();
        Files.createDirectories(o.out().toAbsolutePath().getParent());
        Files.writeString(o.out(), text);
        BenchReport.writeSection(o.report(), "operations", "## Live operations (issue 17, `bench operations`)\n\n"
                + "`./hmem bench operations` (about 6 minutes; the demo model is trained first if it is not cached), "
                + java.time.LocalDate.now() + ", " + BenchReport.machine() + ". One job on in-process Flink (2 generate subtasks, "
                + "1 torch thread each, 1 s checkpoints, exactly-once) with an in-process broker, started with `--control-topic` "
                + "and `--token-topic`; the blocking passes send every probe at once with `--max-queued 4096` and no queue "
                + "deadline, so that nothing is shed and the passes differ only in what was blocked. Also in "
                + "[bench/operations.md](bench/operations.md).\n\n" + text.replace("## ", "### "));
        return text;
    }

    /** Per-fact answers for three passes; returns the first pass's answered requests per second (all sent at once). */
    private double blocking(EmbeddedKafka kafka, DemoModel demo, ControlClient client) throws Exception {
        List<DemoModel.Question> qs = demo.questions(demo.corpus().facts().size());
        long t0 = System.nanoTime();
        Map<String, GenerationResult> normal = ask(kafka, qs, "normal", false, Duration.ofMinutes(20));
        double capacity = qs.size() / ((System.nanoTime() - t0) / 1e9);
        // The same again: how much answers move between two identical passes (batch composition changes the arithmetic).
        Map<String, GenerationResult> again = ask(kafka, qs, "again", false, Duration.ofMinutes(20));
        // The level-1 subtree most facts route to.
        Map<String, Integer> bySubtree = new HashMap<>();
        for (GenerationResult g : normal.values()) bySubtree.merge(top(g.getMemoryPath()), 1, Integer::sum);
        String blocked = bySubtree.entrySet().stream().filter(e -> !e.getKey().equals("none"))
                .max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        var b = client.send(ControlCommand.block(0, "ops-block", ControlCommand.Kind.BLOCK, List.of(blocked)), Duration.ofMinutes(2), s -> { });
        if (!b.complete() || b.refused()) throw new IllegalStateException("block not applied: " + b.reports());
        Map<String, GenerationResult> cut = ask(kafka, qs, "blocked", false, Duration.ofMinutes(20));
        var u = client.send(ControlCommand.block(0, "ops-unblock", ControlCommand.Kind.UNBLOCK, List.of(blocked)), Duration.ofMinutes(2), s -> { });
        if (!u.complete()) throw new IllegalStateException("unblock not applied: " + u.reports());
        Map<String, GenerationResult> alone = ask(kafka, qs, "anchor", true, Duration.ofMinutes(20));

        int[][] counts = new int[2][5];  // [in blocked subtree?][total, normal ok, blocked ok, anchor ok, again ok]
        int unchanged = 0, others = 0, cutPaths = 0, asAnchor = 0, repeat = 0, both = 0, refused = 0;
        for (int i = 0; i < qs.size(); i++) {
            String id = "normal-" + i;
            GenerationResult n = normal.get(id), c = cut.get("blocked-" + i), a = alone.get("anchor-" + i), r = again.get("again-" + i);
            if (n == null || c == null || a == null || r == null) continue;
            both++;
            for (GenerationResult x : List.of(n, c, a, r)) if (x.getError() != null) refused++;
            if (n.getText().equals(r.getText())) repeat++;
            int g = top(n.getMemoryPath()).equals(blocked) ? 1 : 0;
            String want = qs.get(i).expected();
            counts[g][0]++;
            if (n.getText().contains(want)) counts[g][1]++;
            if (c.getText().contains(want)) counts[g][2]++;
            if (a.getText().contains(want)) counts[g][3]++;
            if (r.getText().contains(want)) counts[g][4]++;
            if (g == 0) {
                others++;
                if (n.getText().equals(c.getText())) unchanged++;
            } else {
                if (c.getBlocked() != null && c.getMemoryPath().equals("none")) cutPaths++;
                if (c.getText().equals(a.getText())) asAnchor++;
            }
        }
        md.append("## Blocking memories in the live job\n\n");
        md.append(String.format(Locale.ROOT, "Demo model (%s), all %d fact probes sent to the running job four times (each pass all at once): as served, again as served, with "
                + "level-1 subtree `%s` blocked (`hmem block`; the subtree %d facts route to), and with `no_memory` (the anchor "
                + "alone). A fact is known when the answer contains it.%n%n", o.demoDir(), qs.size(), blocked, counts[1][0]));
        md.append("| facts | probes | served | served again | subtree blocked | anchor alone |\n|---|---|---|---|---|---|\n");
        String[] names = {"in other subtrees", "in the blocked subtree"};
        for (int g = 1; g >= 0; g--) {
            int n = Math.max(1, counts[g][0]);
            md.append(String.format(Locale.ROOT, "| %s | %d | %.1f%% | %.1f%% | %.1f%% | %.1f%% |%n", names[g], counts[g][0],
                    100.0 * counts[g][1] / n, 100.0 * counts[g][4] / n, 100.0 * counts[g][2] / n, 100.0 * counts[g][3] / n));
        }
        md.append(String.format(Locale.ROOT, "%nAnswers to the other subtrees' probes identical with and without the block: %d of %d. "
                + "Blocked-subtree probes answered with `memory_path` none and a `blocked` note: %d of %d; their answers "
                + "identical to the anchor-alone pass's: %d of %d. Two identical served passes give identical answers for %d "
                + "of %d probes%s.%n%n", unchanged, others, cutPaths, counts[1][0], asAnchor, counts[1][0], repeat, both,
                repeat == both ? " (greedy generation is deterministic: the comparison is exact)"
                        : ": the rest is what batch composition does to the arithmetic"));
        md.append(String.format(Locale.ROOT, "Results with an error or refused (overloaded): %d of %d.%n%n", refused, 4 * both));
        md.append(String.format(Locale.ROOT, "Capacity of the first pass (%d probes sent at once, %d new tokens at most): %.1f requests/s.%n%n",
                qs.size(), 6, capacity));
        return capacity;
    }

    private static String top(String path) {
        if (path == null || path.isEmpty() || path.equals("none") || path.equals("generic")) return "none";
        int dot = path.indexOf('.');
        return dot < 0 ? path : path.substring(0, dot);
    }

    private void streaming(EmbeddedKafka kafka, DemoModel demo, double capacity) throws Exception {
        Map<String, List<String>> prompts = new LinkedHashMap<>();
        for (DemoModel.Question q : demo.questions(200)) prompts.computeIfAbsent("all", k -> new ArrayList<>()).add(q.prompt());
        md.append("## Streaming tokens\n\n");
        md.append("`hmem loadtest --token-topic`: requests ask to stream (32 new tokens at most, every 4 tokens or 200 ms a "
                + "partial result); a read_uncommitted and a read_committed client read the token topic. Time to first token "
                + "from the send; inter-token latency = time between a request's first and last partial result per token between.\n\n");
        md.append("| load | achieved req/s | read_uncommitted TTFT p50 / p90 / p99 ms | inter-token p50 / p90 / p99 ms "
                + "| read_committed TTFT p50 / p90 / p99 ms | inter-token p50 / p90 / p99 ms | result e2e p50 ms |\n|---|---|---|---|---|---|---|\n");
        for (double share : new double[] {0.1, 0.8}) {
            // The capacity of 6-token answers, scaled to 32-token ones by the decode share of each request.
            double rate = Math.max(0.2, share * capacity * 6 / 32);
            Workload w = new Workload(prompts, 1.0, rate, 1.0, 7);
            LoadTest.Options lo = new LoadTest.Options(kafka.bootstrapServers(), Map.of(), "ops-prompts", "ops-results", List.of(rate),
                    List.of(), false, o.stepSeconds(), 5, 30, 32, Slo.parse("ttft=2000,tpot=200,e2e=20000"), null, null,
                    o.work().resolve("loadtest-" + (int) (share * 100)), "ops", Map.of());
            StepStats s = LoadTest.run(lo.streaming("ops-tokens"), w).steps().get(0);
            var ut = s.latency().get("stream_ttft");
            var ui = s.latency().get("stream_itl");
            var ct = s.latency().get("committed_ttft");
            var ci = s.latency().get("committed_itl");
            md.append(String.format(Locale.ROOT, "| %.0f%% of capacity (%.2f req/s) | %.2f | %.0f / %.0f / %.0f | %.1f / %.1f / %.1f "
                            + "| %.0f / %.0f / %.0f | %.1f / %.1f / %.1f | %.0f |%n", share * 100, rate, s.achievedRate(),
                    ut.p50(), ut.p90(), ut.p99(), ui.p50(), ui.p90(), ui.p99(), ct.p50(), ct.p90(), ct.p99(), ci.p50(), ci.p90(), ci.p99(),
                    s.latency().get("e2e").p50()));
        }
        md.append("\nA read_committed client sees partial results only when the checkpoint that holds them commits (interval "
                + "1 s), so its first token and its chunks come in checkpoint-sized steps; a read_uncommitted client sees them "
                + "as they are made (and, after a failure, regenerated ones again: the seq tells).\n\n");
    }

    private void swaps(EmbeddedKafka kafka, DemoModel demo, ControlClient client, Path bankCopy) throws Exception {
        md.append("## Swapping versions\n\n");
        md.append(SWAPS + " `hmem swap`s in a row, alternating between the demo bank and a byte-identical copy (a new version each "
                + "time), while a stream of 2 requests/s runs; each waits for every subtask's report.\n\n");
        md.append("| swap | command → routing switched ms | → every generate subtask ready ms | RSS of this process MiB "
                + "| Java heap used after a GC MiB |\n|---|---|---|---|---|\n");
        md.append(String.format(Locale.ROOT, "| before | | | %d | %d |%n", rssMib(), heapAfterGcMib()));
        Thread stream = new Thread(() -> {
            try {
                List<DemoModel.Question> qs = demo.questions(120);
                ask(kafka, qs, "swapload", false, Duration.ofMinutes(5), 2.0);
            } catch (Exception e) {
                System.err.println("[ops] swap stream: " + e.getMessage());
            }
        }, "ops-swap-stream");
        stream.setDaemon(true);
        stream.start();
        for (int k = 1; k <= SWAPS; k++) {
            Path bank = k % 2 == 1 ? bankCopy : demo.bank();
            long sent = System.currentTimeMillis();
            var r = client.send(ControlCommand.activate(0, "ops-swap-" + k, "v" + k, bank.toString(), null), Duration.ofMinutes(3), s -> { });
            if (!r.complete() || r.refused()) throw new IllegalStateException("swap " + k + ": " + r.reports());
            long route = r.reports().stream().filter(s -> s.operator().equals("route") && s.state().equals("active"))
                    .mapToLong(ControlStatus::at).max().orElse(sent) - sent;
            long ready = r.reports().stream().filter(s -> s.operator().equals("generate") && s.state().equals("ready"))
                    .mapToLong(ControlStatus::at).max().orElse(sent) - sent;
            System.err.printf(Locale.ROOT, "[ops] swap %d: routing %d ms, generate %d ms%n", k, route, ready);
            md.append(String.format(Locale.ROOT, "| %d | %d | %d | %d | %d |%n", k, route, ready, rssMib(), heapAfterGcMib()));
        }
        stream.join(TimeUnit_MINUTES_5);
        Thread.sleep(12_000);  // an idle older version is released after 10 s
        System.gc();
        md.append(String.format(Locale.ROOT, "| after, 12 s idle | | | %d | %d |%n%n", rssMib(), heapAfterGcMib()));
    }

    private static final long TimeUnit_MINUTES_5 = 300_000;
    static final int SWAPS = 20;

    /** Heap in use after a full collection: what the old versions' Java objects leave behind. */
    static long heapAfterGcMib() throws InterruptedException {
        System.gc();
        Thread.sleep(300);
        Runtime r = Runtime.getRuntime();
        return (r.totalMemory() - r.freeMemory()) >> 20;
    }

    static long rssMib() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
        }
        return -1;
    }

    private Map<String, GenerationResult> ask(EmbeddedKafka kafka, List<DemoModel.Question> qs, String tag, boolean noMemory,
                                              Duration timeout) throws Exception {
        return ask(kafka, qs, tag, noMemory, timeout, 0);
    }

    /** Sends the questions (all at once, or at {@code rate} per second) and collects their results by id. */
    private Map<String, GenerationResult> ask(EmbeddedKafka kafka, List<DemoModel.Question> qs, String tag, boolean noMemory,
                                              Duration timeout, double rate) throws Exception {
        Properties pp = new Properties();
        pp.put("bootstrap.servers", kafka.bootstrapServers());
        pp.put("enable.idempotence", "true");
        Map<String, GenerationResult> got = new HashMap<>();
        PromptEncoder enc = PromptEncoder.singleObject();
        try (KafkaConsumer<byte[], byte[]> c = dev.hmem.cli.kafka.TopicEnd.open(kafka.bootstrapServers(), "ops-results", Map.of(),
                "read_committed");
             KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            Progress progress = Progress.of(tag, qs.size(), "answers");
            for (int i = 0; i < qs.size(); i++) {
                DemoModel.Question q = qs.get(i);
                String id = tag + "-" + i;
                byte[] v = enc.encode(PromptRequest.newBuilder().setId(id).setText(q.prompt()).setMaxNewTokens(q.maxNewTokens())
                        .setNoMemory(noMemory).setStop(List.of(".")).setCreatedAt(Instant.now()).build());
                p.send(new ProducerRecord<>("ops-prompts", id.getBytes(StandardCharsets.UTF_8), v));
                if (rate > 0) Thread.sleep((long) (1000 / rate));
            }
            p.flush();
            long end = System.nanoTime() + timeout.toNanos();
            while (got.size() < qs.size() && System.nanoTime() < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    GenerationResult g = ResultCodec.decodeResult(r.value());
                    if (g.getId().startsWith(tag + "-") && got.put(g.getId(), g) == null) progress.advance(1);
                }
            }
        }
        if (got.size() < qs.size()) System.err.printf(Locale.ROOT, "[ops] %s: %d of %d answered in time%n", tag, got.size(), qs.size());
        return got;
    }

    private static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(t);
                else Files.copy(f, t);
            }
        }
    }
}
