package dev.hmem.it;

import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.schemas.DeadLetter;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.PromptRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Fixtures of the integration tests: a loopback-only MiniCluster, and Kafka produce/consume helpers. */
public final class TestCluster {

    private TestCluster() {}

    /** Everything the MiniCluster starts listens on 127.0.0.1 only. */
    public static Configuration loopback() {
        Configuration c = new Configuration();
        c.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        c.set(RestOptions.ADDRESS, "127.0.0.1");
        c.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
        c.set(JobManagerOptions.ADDRESS, "127.0.0.1");
        c.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
        c.set(TaskManagerOptions.HOST, "127.0.0.1");
        return c;
    }

    public static MiniClusterExtension miniCluster(int slots) {
        return miniCluster(slots, null);
    }

    /** A MiniCluster whose metrics {@code reporter} keeps (also those of failed attempts), for assertions. */
    public static MiniClusterExtension miniCluster(int slots, InMemoryReporter reporter) {
        Configuration c = loopback();
        if (reporter != null) reporter.addToConfiguration(c);
        return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(slots).setConfiguration(c).build());
    }

    /** The sum over subtasks and attempts of a counter of the job's operators. */
    public static long counterSum(InMemoryReporter reporter, org.apache.flink.api.common.JobID job, String name) {
        long sum = 0;
        // By group, not by identifier: a restarted attempt registers the same identifiers again.
        for (var e : reporter.getMetricsByGroup().entrySet()) {
            if (!job.toString().equals(e.getKey().getAllVariables().get("<job_id>"))) continue;
            if (e.getValue().get(name) instanceof org.apache.flink.metrics.Counter c) sum += c.getCount();
        }
        return sum;
    }

    public static PromptRequest.Builder prompt(String id, String text) {
        return PromptRequest.newBuilder().setId(id).setText(text).setCreatedAt(java.time.Instant.now());
    }

    public static void produce(EmbeddedKafka kafka, String topic, List<byte[]> values) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (byte[] v : values) prod.send(new ProducerRecord<>(topic, v));
            prod.flush();
        }
    }

    public static List<byte[]> encode(List<PromptRequest> prompts) {
        List<byte[]> out = new ArrayList<>();
        for (PromptRequest r : prompts) out.add(PromptCodec.encode(r));
        return out;
    }

    /** Everything committed on {@code topic} (read_committed), read until {@code idle} passes without news. */
    public static <T> List<T> consumeAll(EmbeddedKafka kafka, String topic, Function<byte[], T> decode, Duration idle) {
        return consumeAll(kafka.bootstrapServers(), topic, decode, idle);
    }

    public static <T> List<T> consumeAll(String bootstrap, String topic, Function<byte[], T> decode, Duration idle) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", "test-" + System.nanoTime());
        p.put("auto.offset.reset", "earliest");
        p.put("isolation.level", "read_committed");
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            long lastNews = System.nanoTime();
            while (System.nanoTime() - lastNews < idle.toNanos()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.add(decode.apply(r.value()));
                    lastNews = System.nanoTime();
                }
            }
        }
        return out;
    }

    public static List<GenerationResult> results(EmbeddedKafka kafka, String topic) {
        return consumeAll(kafka, topic, ResultCodec::decodeResult, Duration.ofSeconds(3));
    }

    public static List<DeadLetter> deadLetters(EmbeddedKafka kafka, String topic) {
        return consumeAll(kafka, topic, ResultCodec::decodeDeadLetter, Duration.ofSeconds(3));
    }

    public static Map<String, String> none() {
        return Map.of();
    }

    public static Path tmp(Path base, String name) throws java.io.IOException {
        return java.nio.file.Files.createDirectories(base.resolve(name));
    }
}
