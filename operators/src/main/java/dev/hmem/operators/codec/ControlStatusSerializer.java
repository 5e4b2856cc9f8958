package dev.hmem.operators.codec;

import dev.hmem.operators.control.ControlStatus;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Status reports keyed by their command's request id. */
public final class ControlStatusSerializer implements KafkaRecordSerializationSchema<ControlStatus> {

    private final String topic;

    public ControlStatusSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(ControlStatus s, KafkaSinkContext ctx, Long timestamp) {
        return new ProducerRecord<>(topic, s.requestId().getBytes(StandardCharsets.UTF_8), ControlCodec.encode(s));
    }
}
