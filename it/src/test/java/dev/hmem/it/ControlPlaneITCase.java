package dev.hmem.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.cli.control.ControlClient;
import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.jobs.inference.InferenceJob;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.jobs.inference.KafkaConnectors;
import dev.hmem.jobs.inference.KafkaTopics;
import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.schemas.GenerationResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control topic on a running job (MiniCluster, generate parallelism 2, a real broker): bank versions swapped and
 * refused under a steady stream, memories blocked and unblocked, garbage on the control topic skipped.
 */
@Timeout(400)
class ControlPlaneITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = TestCluster.miniCluster(4);

    @TempDir
    static Path tmp;
    static EmbeddedKafka kafka;
    static Path model;
    static Path bankA;
    static Path bankB;
    static Path damaged;

    @BeforeAll
    static void setUp() throws Exception {
        kafka = EmbeddedKafka.start(tmp);
        model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 21);
        bankA = tmp.resolve("bankA");
        bankB = tmp.resolve("bankB");
        damaged = tmp.resolve("damaged");
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(bankA, a.weights(), false, 4);
            TestModels.smallBank(bankB, a.weights(), false, 5);
            TestModels.smallBank(damaged, a.weights(), false, 6);
        }
        TestModels.corruptOneBlock(damaged);
    }

    @AfterAll
    static void tearDown() {
        if (kafka != null) kafka.close();
    }

    static InferenceOptions options(String name) {
        return InferenceOptions.parse("--bootstrap-servers", kafka.bootstrapServers(), "--prompts-topic", name + "-prompts",
                "--results-topic", name + "-results", "--dead-letter-topic", name + "-dlq", "--group-id", name,
                "--control-topic", name + "-control", "--create-topics", "2",
                "--model", model.toString(), "--bank", bankA.toString(), "--parallelism", "2", "--starting-offsets", "earliest",
                "--checkpoint-interval-ms", "500", "--max-new-tokens", "6", "--max-batch", "4");
    }

    static JobClient start(InferenceOptions o) throws Exception {
        KafkaTopics.ensure(o);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        Configuration c = new Configuration();
        c.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        env.configure(c);
        InferenceJob.configure(env, o);
        DataStream<RawRecord> raw = env.fromSource(KafkaConnectors.prompts(o, null), WatermarkStrategy.noWatermarks(), "prompts")
                .setParallelism(o.sourceParallelism());
        DataStream<ControlCommand> control = env.fromSource(KafkaConnectors.control(o), WatermarkStrategy.noWatermarks(), "control")
                .setParallelism(1);
        InferenceJob.Outputs out = InferenceJob.defineWorkflow(raw, control, o, GenerationEngine.StepProbe.NONE);
        out.results().sinkTo(KafkaConnectors.results(o));
        out.deadLetters().sinkTo(KafkaConnectors.deadLetters(o));
        out.statuses().sinkTo(KafkaConnectors.statuses(o));
        return env.executeAsync("control-" + o.promptsTopic());
    }

    static ControlClient client(InferenceOptions o) {
        return new ControlClient(kafka.bootstrapServers(), Map.of(), o.controlTopic(), o.statusTopic());
    }

    static String[] questions() {
        String[] q = new String[16];
        for (int i = 0; i < q.length; i++) q[i] = "Question number " + i + ": what is the capital of country " + (i * 7) + "?";
        return q;
    }

    /** Waits until {@code reader} holds at least {@code n} results. */
    static List<GenerationResult> await(ResultReader reader, int n, long timeoutMs) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            List<GenerationResult> got = reader.results();
            if (got.size() >= n) return got;
            Thread.sleep(100);
        }
        throw new AssertionError("only " + reader.results().size() + " of " + n + " results within " + timeoutMs + " ms");
    }

    static void produceRaw(String topic, byte[] value) throws Exception {
        TestCluster.produce(kafka, topic, List.of(value));
    }

    @Test
    void aSwapUnderASteadyStreamAnswersEveryRequestOnceEachByOneVersionAndADamagedBankIsRefused() throws Exception {
        InferenceOptions o = options("swap");
        JobClient job = start(o);
        try (ResultReader reader = new ResultReader(kafka.bootstrapServers(), o.resultsTopic(), true);
             PromptStream stream = new PromptStream(kafka.bootstrapServers(), o.promptsTopic(), "s", questions(), 160, 5, 6)) {
            stream.start();
            await(reader, 10, 120_000);

            // Garbage on the control topic is reported and skipped; the job keeps serving.
            produceRaw(o.controlTopic(), "not a command".getBytes());

            ControlClient.Outcome bad = client(o).send(ControlCommand.activate(0, "bad-1", "v-bad", damaged.toString(), null),
                    Duration.ofSeconds(90), s -> { });
            assertThat(bad.complete()).as("reports %s", bad.reports()).isTrue();
            assertThat(bad.refused()).isTrue();
            assertThat(bad.reports()).filteredOn(s -> s.state().equals("refused"))
                    .extracting(ControlStatus::operator).contains("route", "generate");
            assertThat(bad.reports()).filteredOn(s -> s.state().equals("refused"))
                    .allSatisfy(s -> assertThat(s.detail()).contains("is corrupt"));

            long sentAt = System.currentTimeMillis();
            ControlClient.Outcome good = client(o).send(ControlCommand.activate(0, "good-1", "v2", bankB.toString(), null),
                    Duration.ofSeconds(90), s -> { });
            assertThat(good.complete()).as("reports %s", good.reports()).isTrue();
            assertThat(good.refused()).isFalse();
            long switchedAt = good.reports().stream().filter(s -> s.operator().equals("route") && s.state().equals("active"))
                    .mapToLong(ControlStatus::at).max().orElseThrow();
            assertThat(switchedAt).isGreaterThanOrEqualTo(sentAt);

            List<PromptStream.Sent> sent = stream.awaitSent();
            List<GenerationResult> results = await(reader, sent.size(), 180_000);
            Thread.sleep(1_500);  // a duplicate would arrive within a checkpoint or two
            results = reader.results();
            Map<String, GenerationResult> byId = new HashMap<>();
            for (GenerationResult r : results) assertThat(byId.put(r.getId(), r)).as("duplicate %s", r.getId()).isNull();
            assertThat(byId).hasSize(sent.size());

            String descA = "test bank (seed 4)", descB = "test bank (seed 5)";
            int old = 0, neu = 0;
            for (GenerationResult r : byId.values()) {
                assertThat(r.getError()).as("result %s", r.getId()).isNull();
                String v = r.getServedVersion();
                assertThat(v).isIn("initial", "v2");
                // Nothing answered by a mix: the label and the bank that answered agree.
                assertThat(r.getBankVersion()).endsWith(v.equals("initial") ? descA : descB);
                long created = r.getCreatedAt().toEpochMilli(), completed = r.getCompletedAt().toEpochMilli();
                if (created > switchedAt) assertThat(v).as("%s created after the switch", r.getId()).isEqualTo("v2");
                if (completed < switchedAt) assertThat(v).as("%s answered before the switch", r.getId()).isEqualTo("initial");
                if (v.equals("initial")) old++;
                else neu++;
            }
            assertThat(old).isPositive();
            assertThat(neu).isPositive();
        } finally {
            job.cancel().get();
        }
    }

    @Test
    void blockedSubtreesAreRoutedAroundUntilUnblocked() throws Exception {
        InferenceOptions o = options("block");
        JobClient job = start(o);
        try (ResultReader reader = new ResultReader(kafka.bootstrapServers(), o.resultsTopic(), true)) {
            String question = "What is the capital of the country number 3?";
            TestCluster.produce(kafka, o.promptsTopic(), TestCluster.encode(List.of(TestCluster.prompt("p0", question).build())));
            String path = await(reader, 1, 120_000).get(0).getMemoryPath();
            String top = path.split("\\.")[0];
            assertThat(path).as("the test bank has two levels").contains(".");

            ControlClient.Outcome b = client(o).send(ControlCommand.block(0, "b-1", ControlCommand.Kind.BLOCK, List.of(top)),
                    Duration.ofSeconds(60), s -> { });
            assertThat(b.complete()).isTrue();
            assertThat(b.reports()).extracting(ControlStatus::state).containsOnly("applied");
            TestCluster.produce(kafka, o.promptsTopic(), TestCluster.encode(List.of(TestCluster.prompt("p1", question).build())));
            GenerationResult blocked = byId(await(reader, 2, 60_000), "p1");
            assertThat(blocked.getMemoryPath()).isEqualTo("none");
            assertThat(blocked.getBlocked()).isEqualTo("subtree " + top + " blocked; routed " + path);

            // A deeper block: the prompt keeps its first level.
            ControlClient.Outcome deeper = client(o).send(ControlCommand.block(0, "b-2", ControlCommand.Kind.BLOCK, List.of(path)),
                    Duration.ofSeconds(60), s -> { });
            ControlClient.Outcome un = client(o).send(ControlCommand.block(0, "u-1", ControlCommand.Kind.UNBLOCK, List.of(top)),
                    Duration.ofSeconds(60), s -> { });
            assertThat(deeper.complete() && un.complete()).isTrue();
            TestCluster.produce(kafka, o.promptsTopic(), TestCluster.encode(List.of(TestCluster.prompt("p2", question).build())));
            GenerationResult partly = byId(await(reader, 3, 60_000), "p2");
            assertThat(partly.getMemoryPath()).isEqualTo(top);
            assertThat(partly.getBlocked()).startsWith("subtree " + path + " blocked");

            client(o).send(ControlCommand.block(0, "u-2", ControlCommand.Kind.UNBLOCK, List.of(path)), Duration.ofSeconds(60), s -> { });
            TestCluster.produce(kafka, o.promptsTopic(), TestCluster.encode(List.of(TestCluster.prompt("p3", question).build())));
            GenerationResult whole = byId(await(reader, 4, 60_000), "p3");
            assertThat(whole.getMemoryPath()).isEqualTo(path);
            assertThat(whole.getBlocked()).isNull();
        } finally {
            job.cancel().get();
        }
    }

    static GenerationResult byId(List<GenerationResult> results, String id) {
        return results.stream().filter(r -> r.getId().equals(id)).findFirst().orElseThrow();
    }
}
