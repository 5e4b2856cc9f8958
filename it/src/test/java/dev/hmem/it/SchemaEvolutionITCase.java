package dev.hmem.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.cli.registry.SchemaRegistry;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.jobs.inference.PromptSubject;
import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.operators.codec.SchemaRegistryClient;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.schemas.DeadLetter;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.PromptRequest;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Producers on other schema versions, as Kafka shops run them: a real schema registry process (Apicurio, its
 * Confluent-compatible API), the job resolving writer schemas in it at run time. A newer producer (an extra optional
 * field) and an older one (the previous PromptRequest, without {@code deadline_ms}) are both answered, in the Confluent
 * wire format and in single-object encoding; the subject's FULL rule refuses a version the job could not read; and a
 * schema id the job cannot look up while the registry is down is retried, then dead-lettered with its request id
 * recovered and an error result for its client.
 */
@Timeout(400)
class SchemaEvolutionITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = TestCluster.miniCluster(4);

    @TempDir
    static Path tmp;
    static EmbeddedKafka kafka;
    static SchemaRegistry registry;
    static Path model;

    @BeforeAll
    static void setUp() throws Exception {
        kafka = EmbeddedKafka.start(tmp.resolve("kafka"));
        registry = SchemaRegistry.start(tmp.resolve("registry"));
        model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 21);
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(tmp.resolve("bank"), a.weights(), false, 4);
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (registry != null) registry.close();
        if (kafka != null) kafka.close();
    }

    static InferenceOptions options(String name) throws Exception {
        kafka.createTopics(2, name + "-prompts", name + "-results", name + "-dlq");
        ServingConfig serving = ServingConfig.builder(model.toString(), tmp.resolve("bank").toString()).parallelism(2)
                .defaultMaxNewTokens(6).generator(g -> g.maxBatch(4)).build();
        return InferenceOptions.builder(kafka.bootstrapServers(), serving).topics(name + "-prompts", name + "-results", name + "-dlq")
                .groupId(name).sourceParallelism(2).startingOffsets("earliest").checkpointIntervalMs(300)
                .schemaRegistry(registry.url()).build();
    }

    static Schema v1() throws Exception {
        try (InputStream in = SchemaEvolutionITCase.class.getResourceAsStream("/schemas/PromptRequest-v1.avsc")) {
            return new Schema.Parser().parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** The current schema with one more optional field, as a newer client writes it. */
    static Schema newer() {
        String json = PromptRequest.getClassSchema().toString();
        return new Schema.Parser().parse(json.substring(0, json.lastIndexOf(']'))
                + ",{\"name\":\"priority\",\"type\":\"int\",\"default\":0,\"doc\":\"a newer client's field\"}]}");
    }

    static GenericRecord request(Schema s, String id, String text) {
        GenericRecord r = new GenericData.Record(s);
        for (Schema.Field f : s.getFields()) if (f.hasDefaultValue()) r.put(f.name(), GenericData.get().getDefaultValue(f));
        r.put("id", id);
        r.put("text", text);
        if (s.getField("priority") != null) r.put("priority", 7);
        return r;
    }

    /** Single-object encoding written with {@code s} (its own fingerprint). */
    static byte[] singleObject(GenericRecord r, Schema s) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0xC3, 0x01});
        out.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(SchemaNormalization.parsingFingerprint64(s)).array());
        var enc = org.apache.avro.io.EncoderFactory.get().binaryEncoder(out, null);
        new org.apache.avro.generic.GenericDatumWriter<GenericRecord>(s).write(r, enc);
        enc.flush();
        return out.toByteArray();
    }

    @Test
    void newerAndOlderProducersAreAnsweredAndAnUnknownIdWithTheRegistryDownIsDeadLetteredWithItsId() throws Exception {
        InferenceOptions o = options("evolve");
        int current = PromptSubject.prepare(o);
        SchemaRegistryClient client = new SchemaRegistryClient(registry.url());
        assertThat(client.compatibility(o.schemaSubject())).contains("FULL");
        int newerId = client.register(o.schemaSubject(), newer().toString());
        int olderId = client.register(o.schemaSubject(), v1().toString());
        assertThat(List.of(current, newerId, olderId)).doesNotHaveDuplicates();
        // A version that drops a field without a default cannot be read by the job's schema: FULL refuses it.
        Schema breaking = new Schema.Parser().parse(PromptRequest.getClassSchema().toString().replace("\"name\":\"text\"", "\"name\":\"body\""));
        assertThatThrownBy(() -> client.register(o.schemaSubject(), breaking.toString())).hasMessageContaining("409");

        List<byte[]> records = new ArrayList<>();
        records.add(PromptCodec.encodeConfluent(request(newer(), "newer-confluent", "What is the capital of France?"), newer(), newerId));
        records.add(PromptCodec.encodeConfluent(request(v1(), "older-confluent", "What is the capital of Germany?"), v1(), olderId));
        records.add(singleObject(request(v1(), "older-single", "Which currency does Japan use?"), v1()));
        records.add(singleObject(request(newer(), "newer-single", "Tell me about memory banks."), newer()));
        records.add(PromptCodec.encode(TestCluster.prompt("current", "What is 3.14159?").build()));
        // What the demo and the load tests write given --schema-registry: this build's schema, Confluent framing.
        records.add(dev.hmem.cli.kafka.PromptEncoder.registry(registry.url(), o.schemaSubject())
                .encode(TestCluster.prompt("cli-encoder", "What is 2.71828?").setCreatedAt(java.time.Instant.now()).build()));
        TestCluster.produce(kafka, o.promptsTopic(), records);
        InferenceJobITCase.runBounded(o);

        Map<String, GenerationResult> byId = TestCluster.results(kafka, o.resultsTopic()).stream()
                .collect(Collectors.toMap(GenerationResult::getId, Function.identity()));
        assertThat(byId.keySet()).containsExactlyInAnyOrder("newer-confluent", "older-confluent", "older-single", "newer-single", "current",
                "cli-encoder");
        for (GenerationResult r : byId.values()) {
            assertThat(r.getError()).as(r.getId()).isNull();
            assertThat(r.getCompletionTokens()).as(r.getId()).isPositive();
        }
        assertThat(TestCluster.deadLetters(kafka, o.deadLetterTopic())).isEmpty();

        // The registry goes away; a producer's schema id the job has never seen cannot be looked up.
        InferenceOptions down = options("registry-down");
        PromptSubject.prepare(down);
        registry.close();
        try {
            TestCluster.produce(kafka, down.promptsTopic(), List.of(
                    PromptCodec.encodeConfluent(request(newer(), "orphan", "What is the code of the yen?"), newer(), 987_654),
                    PromptCodec.encode(TestCluster.prompt("still-served", "Is café a word?").build())));
            long t0 = System.nanoTime();
            InferenceJobITCase.runBounded(down);
            List<GenerationResult> results = TestCluster.results(kafka, down.resultsTopic());
            Map<String, GenerationResult> r = results.stream().collect(Collectors.toMap(GenerationResult::getId, Function.identity()));
            assertThat(r.keySet()).containsExactlyInAnyOrder("orphan", "still-served");
            assertThat(r.get("still-served").getError()).isNull();
            assertThat(r.get("orphan").getFinishReason()).isEqualTo("error");
            assertThat(r.get("orphan").getError()).contains("registry").contains("unreachable");
            List<DeadLetter> dead = TestCluster.deadLetters(kafka, down.deadLetterTopic());
            assertThat(dead).hasSize(1);
            assertThat(dead.get(0).getRequestId()).isEqualTo("orphan");
            assertThat(dead.get(0).getStage()).isEqualTo("decode");
            // It was retried (about 4 s of backing off) before it was given up.
            assertThat((System.nanoTime() - t0) / 1e9).isGreaterThan(3.5);
        } finally {
            registry = SchemaRegistry.start(tmp.resolve("registry-again"));
        }
    }
}
