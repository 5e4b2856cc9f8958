package dev.hmem.operators.codec;

import dev.hmem.operators.records.DeadLetterRecord;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Dead letters keyed by their source coordinates. */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetterRecord> {

    private final String topic;

    public DeadLetterSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(DeadLetterRecord d, KafkaSinkContext ctx, Long timestamp) {
        byte[] key = (d.topic() + "-" + d.partition() + "@" + d.offset()).getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(topic, key, ResultCodec.encode(d));
    }
}
