package dev.hmem.operators.codec;

import dev.hmem.operators.control.ControlCommand;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Control-topic records to commands, numbered by their offset; a bad record becomes an INVALID command, never a failure. */
public final class ControlDeserializer implements KafkaRecordDeserializationSchema<ControlCommand> {

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<ControlCommand> out) {
        out.collect(ControlCodec.decode(r.value(), r.offset(), r.timestamp()));
    }

    @Override
    public TypeInformation<ControlCommand> getProducedType() {
        return TypeInformation.of(ControlCommand.class);
    }
}
