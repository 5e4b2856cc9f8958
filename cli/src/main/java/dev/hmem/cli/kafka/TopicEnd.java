package dev.hmem.cli.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A consumer of every partition of a topic, positioned at the topic's end as it is now — before the caller sends
 * anything whose answers it waits for — and outside any consumer group (positions live in this consumer only).
 */
public final class TopicEnd {

    private TopicEnd() {}

    /** {@code isolation}: read_committed or read_uncommitted. */
    public static KafkaConsumer<byte[], byte[]> open(String bootstrap, String topic, Map<String, String> clientProperties,
                                                     String isolation) {
        Properties p = new Properties();
        p.putAll(clientProperties);
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", isolation);
        p.put("enable.auto.commit", "false");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        try {
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo i : c.partitionsFor(topic, Duration.ofSeconds(30))) parts.add(new TopicPartition(topic, i.partition()));
            if (parts.isEmpty()) throw new IllegalStateException("topic " + topic + " does not exist on " + bootstrap);
            c.assign(parts);
            c.seekToEnd(parts);
            for (TopicPartition tp : parts) c.position(tp);  // resolve the end now: seekToEnd alone is lazy
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }
}
