package dev.hmem.jobs.inference;

import dev.hmem.operators.codec.ControlDeserializer;
import dev.hmem.operators.codec.ControlStatusSerializer;
import dev.hmem.operators.codec.DeadLetterSerializer;
import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.operators.codec.RawRecordDeserializer;
import dev.hmem.operators.codec.ResultSerializer;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.operators.records.ResultRecord;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/** The job's Kafka source and sinks, built from its options. */
public final class KafkaConnectors {

    private KafkaConnectors() {}

    public static KafkaSource<RawRecord> prompts(InferenceOptions o, OffsetsInitializer boundedAt) {
        var b = KafkaSource.<RawRecord>builder()
                .setBootstrapServers(o.bootstrapServers())
                .setTopics(o.promptsTopic())
                .setGroupId(o.groupId())
                .setStartingOffsets(switch (o.startingOffsets()) {
                    case "earliest" -> OffsetsInitializer.earliest();
                    case "latest" -> OffsetsInitializer.latest();
                    default -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
                })
                .setDeserializer(new RawRecordDeserializer())
                // prompts written in transactions count only once committed
                .setProperty("isolation.level", "read_committed")
                .setProperty("commit.offsets.on.checkpoint", "true");
        o.kafkaProperties().forEach(b::setProperty);
        if (boundedAt != null) b.setBounded(boundedAt);
        return b.build();
    }

    /**
     * The control topic. A restore resumes after the last command its checkpoint saw; a job without state starts at
     * the control group's committed offset, else at the topic's end (its command line names its version), resolved to
     * a concrete offset when the job is built ({@link KafkaTopics#controlStart}).
     */
    public static KafkaSource<ControlCommand> control(InferenceOptions o) throws InterruptedException {
        String group = o.groupId() + "-control";
        var b = KafkaSource.<ControlCommand>builder()
                .setBootstrapServers(o.bootstrapServers())
                .setTopics(o.controlTopic())
                .setGroupId(group)
                .setStartingOffsets(OffsetsInitializer.offsets(KafkaTopics.controlStart(o, group)))
                .setDeserializer(new ControlDeserializer())
                .setProperty("isolation.level", "read_committed")
                .setProperty("commit.offsets.on.checkpoint", "true");
        o.kafkaProperties().forEach(b::setProperty);
        return b.build();
    }

    /** Status reports at least once and at once: a client waiting on a swap should not wait for a checkpoint. */
    public static KafkaSink<ControlStatus> statuses(InferenceOptions o) {
        KafkaSinkBuilder<ControlStatus> b = KafkaSink.<ControlStatus>builder()
                .setBootstrapServers(o.bootstrapServers())
                .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
                .setProperty("linger.ms", "0")
                .setProperty("enable.idempotence", "true")
                .setProperty("acks", "all")
                .setRecordSerializer(new ControlStatusSerializer(o.statusTopic()));
        o.kafkaProperties().forEach(b::setProperty);
        return b.build();
    }

    public static KafkaSink<ResultRecord> results(InferenceOptions o) {
        return KafkaConnectors.<ResultRecord>sink(o, "-results")
                .setRecordSerializer(new ResultSerializer(o.resultsTopic())).build();
    }

    /**
     * Partial results with the job's delivery guarantee: with exactly-once they are written into the same kind of
     * checkpoint transactions as results, so a read_uncommitted client sees each chunk as it is made (and, after a
     * failure, the regenerated ones again: the chunk's seq and growing text tell), a read_committed one at checkpoints.
     */
    public static KafkaSink<dev.hmem.operators.records.PartialResult> partials(InferenceOptions o) {
        return KafkaConnectors.<dev.hmem.operators.records.PartialResult>sink(o, "-tokens")
                .setRecordSerializer(new dev.hmem.operators.codec.PartialResultSerializer(o.tokenTopic())).build();
    }

    public static KafkaSink<DeadLetterRecord> deadLetters(InferenceOptions o) {
        return KafkaConnectors.<DeadLetterRecord>sink(o, "-dead-letters")
                .setRecordSerializer(new DeadLetterSerializer(o.deadLetterTopic())).build();
    }

    /**
     * Producer settings: small linger and batch size let the producer coalesce results into
     * batches while the sink's bounded buffer back-pressures the job when Kafka is slow.
     */
    private static <T> KafkaSinkBuilder<T> sink(InferenceOptions o, String suffix) {
        KafkaSinkBuilder<T> b = KafkaSink.<T>builder()
                .setBootstrapServers(o.bootstrapServers())
                .setDeliveryGuarantee(o.exactlyOnce() ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE)
                .setProperty("linger.ms", Integer.toString(o.lingerMs()))
                .setProperty("batch.size", Integer.toString(o.batchBytes()))
                .setProperty("compression.type", o.compression())
                .setProperty("max.request.size", Integer.toString(o.serving().limits().maxMessageBytes()))
                .setProperty("enable.idempotence", "true")
                .setProperty("acks", "all");
        o.kafkaProperties().forEach(b::setProperty);
        if (o.exactlyOnce()) {
            b.setTransactionalIdPrefix(o.transactionalIdPrefix() + suffix)
                    .setProperty("transaction.timeout.ms", Long.toString(o.transactionTimeoutMs()));
        }
        return b;
    }
}
