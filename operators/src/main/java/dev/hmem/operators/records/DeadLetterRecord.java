package dev.hmem.operators.records;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An input the job could not serve: the raw bytes (cut to a limit), where they came from, the
 * stage that refused them and why.
 *
 * @param raw          the record's first bytes (all of them unless {@code rawTruncated}); empty when not known
 * @param rawSize      the whole record's size, -1 when not known (refused after routing dropped the bytes)
 * @param rawSha256    SHA-256 of the whole record (hex), null when not known
 */
public record DeadLetterRecord(byte[] raw, String topic, int partition, long offset, String stage, String error,
                               String requestId, long failedAt, long rawSize, boolean rawTruncated, String rawSha256) {

    /** A dead letter for {@code value} (null: the bytes are no longer known), every part within {@code limits}. */
    public static DeadLetterRecord of(byte[] value, String topic, int partition, long offset, String stage, String error,
                                      String requestId, RecordLimits limits) {
        byte[] raw = value == null ? new byte[0] : value;
        boolean cut = raw.length > limits.deadLetterRawBytes();
        return new DeadLetterRecord(cut ? Arrays.copyOf(raw, limits.deadLetterRawBytes()) : raw, topic, partition, offset,
                stage, RecordLimits.error(error), RecordLimits.cut(requestId, limits.maxIdChars()),
                System.currentTimeMillis(), value == null ? -1 : raw.length, cut, value == null ? null : sha256(raw));
    }

    public static DeadLetterRecord of(RawRecord r, String stage, String error, String requestId, RecordLimits limits) {
        return of(r.value(), r.topic(), r.partition(), r.offset(), stage, error, requestId, limits);
    }

    public static DeadLetterRecord of(PromptTask t, String stage, String error, RecordLimits limits) {
        return of(t.raw(), t.topic(), t.partition(), t.offset(), stage, error, t.id(), limits);
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
