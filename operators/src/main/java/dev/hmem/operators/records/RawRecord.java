package dev.hmem.operators.records;

/**
 * A Kafka record's value with its coordinates, before any decoding, so a record that fails later
 * can be dead-lettered byte for byte with where it came from.
 */
public record RawRecord(byte[] value, String topic, int partition, long offset, long timestamp) {

    /** Unique per input record: the key of in-flight work in checkpointed state. */
    public String uid() {
        return topic + "-" + partition + "@" + offset;
    }
}
