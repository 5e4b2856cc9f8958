package dev.hmem.cli.demo;

import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.cli.kafka.PromptEncoder;
import dev.hmem.cli.registry.SchemaRegistry;
import dev.hmem.jobs.inference.InferenceJob;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.jobs.inference.KafkaConnectors;
import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.PromptRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The whole system on one machine: an in-process Kafka broker, a local Flink cluster with its web
 * UI, the inference job on the demo model, sample long-tail questions sent and their answers
 * printed with memory paths and timings.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the streaming job locally (in-process Kafka + local Flink) on the demo model.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--work-dir", description = "scratch space (Kafka logs, Flink temp); default ~/.cache/hmem/demo-run")
    Path workDir = Path.of(System.getProperty("user.home"), ".cache", "hmem", "demo-run");
    @Option(names = "--model-dir", description = "where the demo model is built and cached; default ~/.cache/hmem/models/demo")
    Path modelDir = DemoModel.defaultDir();
    @Option(names = "--questions", defaultValue = "12", description = "sample questions to send") int questions;
    @Option(names = "--parallelism", defaultValue = "2", description = "generate subtasks") int parallelism;
    @Option(names = "--ui-port", defaultValue = "8081") int uiPort;
    @Option(names = "--keep-running", description = "leave the job and broker up (Ctrl-C to stop)") boolean keepRunning;

    @Override
    public Integer call() throws Exception {
        DemoModel demo = DemoModel.ensure(modelDir);
        deleteRecursively(workDir);
        Files.createDirectories(workDir);
        System.out.println("starting Kafka (in-process, KRaft) ...");
        SchemaRegistry registry = startRegistry(workDir);
        try (EmbeddedKafka kafka = EmbeddedKafka.start(workDir); registry) {
            kafka.createTopics(2, "hmem-prompts", "hmem-results", "hmem-dead-letters");
            ServingConfig serving = ServingConfig.builder(demo.model().toString(), demo.bank().toString())
                    .parallelism(parallelism).defaultMaxNewTokens(24).torchThreads(1).build();
            InferenceOptions o = InferenceOptions.builder(kafka.bootstrapServers(), serving).sourceParallelism(1)
                    .checkpointIntervalMs(1000).startingOffsets("earliest").schemaRegistry(registry == null ? null : registry.url()).build();
            StreamExecutionEnvironment env = LocalFlink.withWebUi(LocalFlink.config(workDir, uiPort, Math.max(2, parallelism)));
            InferenceJob.configure(env, o);
            DataStream<RawRecord> raw = env.fromSource(KafkaConnectors.prompts(o, null), WatermarkStrategy.noWatermarks(),
                    "kafka: hmem-prompts");
            InferenceJob.Outputs out = InferenceJob.defineWorkflow(raw, o);
            out.results().sinkTo(KafkaConnectors.results(o)).name("kafka: hmem-results");
            out.deadLetters().sinkTo(KafkaConnectors.deadLetters(o)).name("kafka: hmem-dead-letters");
            JobClient job = env.executeAsync("hmem inference (demo)");
            System.out.println("Flink web UI: http://127.0.0.1:" + uiPort + "   Kafka: " + kafka.bootstrapServers());
            JobWatch watch = new JobWatch(job);
            if (!watch.awaitRunning(Duration.ofMinutes(2))) return watch.report();

            PromptEncoder encoder = PromptEncoder.of(o.schemaRegistry(), o.schemaSubject());
            System.out.println("prompts: " + encoder.describe());
            List<DemoModel.Question> qs = demo.questions(questions);
            Map<String, DemoModel.Question> byId = new LinkedHashMap<>();
            List<byte[]> records = new ArrayList<>();
            for (int i = 0; i < qs.size(); i++) {
                String id = "demo-" + i;
                byId.put(id, qs.get(i));
                records.add(encoder.encode(PromptRequest.newBuilder().setId(id).setText(qs.get(i).prompt())
                        .setCreatedAt(Instant.now()).setMaxNewTokens(qs.get(i).maxNewTokens())
                        .setStop(List.of(".")).build()));
            }
            send(kafka, records);
            System.out.println("sent " + records.size() + " questions to hmem-prompts; answers (exactly-once, visible at checkpoints):\n");
            int correct = printAnswers(kafka, byId, watch);
            if (watch.stopped()) return watch.report();
            System.out.printf(Locale.ROOT, "%n%d of %d answers contain the expected fact. (The demo model is trained in minutes on "
                    + "a CPU and knows few long-tail facts; docs/RESULTS.md measures what its memories add.)%n", correct, byId.size());
            if (keepRunning) {
                System.out.println("the job is running; produce Avro PromptRequests to hmem-prompts at " + kafka.bootstrapServers()
                        + (registry == null ? "" : " (schema registry: " + registry.url() + ")") + " (docs/SCHEMAS.md). Ctrl-C to stop.");
                watch.awaitStop();
                return watch.report();
            }
            job.cancel().get();
        }
        return 0;
    }

    /**
     * A schema registry process for the demo, as a Kafka shop has one: its prompts then go out in the Confluent wire
     * format and the job resolves them there. It needs Java 21+; without one the demo says so and runs without it.
     */
    private static SchemaRegistry startRegistry(Path workDir) {
        try {
            System.out.println("starting the schema registry (Apicurio Registry, its own process) ...");
            return SchemaRegistry.start(workDir.resolve("registry"));
        } catch (Exception e) {
            System.out.println("no schema registry (" + e.getMessage() + "): prompts go out in Avro single-object encoding instead");
            return null;
        }
    }

    private static void send(EmbeddedKafka kafka, List<byte[]> records) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (byte[] r : records) prod.send(new ProducerRecord<>("hmem-prompts", r));
        }
    }

    private static int printAnswers(EmbeddedKafka kafka, Map<String, DemoModel.Question> byId, JobWatch watch) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("group.id", "hmem-demo-reader");
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        int seen = 0, correct = 0;
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of("hmem-results"));
            while (seen < byId.size() && System.nanoTime() < deadline && !watch.stopped()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(250))) {
                    GenerationResult g = ResultCodec.decodeResult(r.value());
                    DemoModel.Question q = byId.get(g.getId());
                    if (q == null) continue;
                    seen++;
                    // An error result is not a wrong answer: it says why, and a fallback says what memory was used.
                    boolean ok = g.getError() == null && g.getText().contains(q.expected());
                    if (ok) correct++;
                    if (g.getError() != null) System.out.println("   error: " + g.getError());
                    if (g.getMemoryFallback() != null) System.out.println("   memory fallback: " + g.getMemoryFallback());
                    System.out.printf(Locale.ROOT, "%s ...%s%n   [%s | seen %d times in training | memory %s | %d tokens | "
                                    + "first token %.0f ms | end-to-end %.0f ms]%n%n",
                            q.prompt(), g.getText(), ok ? "correct" : "expected '" + q.expected() + "'", q.seen(), g.getMemoryPath(),
                            g.getCompletionTokens(), g.getTimings().getTimeToFirstTokenMs() + g.getTimings().getQueueMs(),
                            g.getTimings().getEndToEndMs());
                }
            }
        }
        if (seen < byId.size() && !watch.stopped()) {
            System.out.println("timed out: " + seen + " of " + byId.size() + " answers arrived");
        }
        return correct;
    }

    static void deleteRecursively(Path p) throws java.io.IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
