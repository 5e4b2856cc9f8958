package dev.hmem.operators.codec;

import dev.hmem.operators.records.ResultRecord;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Results keyed by request id, so all answers to one id land in one partition. */
public final class ResultSerializer implements KafkaRecordSerializationSchema<ResultRecord> {

    private final String topic;

    public ResultSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(ResultRecord r, KafkaSinkContext ctx, Long timestamp) {
        return new ProducerRecord<>(topic, r.id().getBytes(StandardCharsets.UTF_8), ResultCodec.encode(r));
    }
}
