package dev.hmem.operators.codec;

import dev.hmem.operators.records.PartialResult;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Partial results keyed by request id, so a request's chunks stay in order in one partition. */
public final class PartialResultSerializer implements KafkaRecordSerializationSchema<PartialResult> {

    private final String topic;

    public PartialResultSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(PartialResult p, KafkaSinkContext ctx, Long timestamp) {
        return new ProducerRecord<>(topic, p.id().getBytes(StandardCharsets.UTF_8), ResultCodec.encode(p));
    }
}
