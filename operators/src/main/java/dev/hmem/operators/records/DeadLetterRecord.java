package dev.hmem.operators.records;

/**
 * An input the job could not serve: the raw bytes, where they came from, the stage that refused
 * them and why.
 */
public record DeadLetterRecord(byte[] raw, String topic, int partition, long offset, String stage, String error,
                               String requestId, long failedAt) {

    public static DeadLetterRecord of(RawRecord r, String stage, String error, String requestId) {
        return new DeadLetterRecord(r.value(), r.topic(), r.partition(), r.offset(), stage, error, requestId,
                System.currentTimeMillis());
    }
}
