package dev.hmem.operators.records;

import java.io.Serializable;
import picocli.CommandLine.Option;

/**
 * How large each part of a prompt record may be, in both directions: what the job accepts, and
 * therefore what it can echo into a result or dead letter. Every bound is checked before any model
 * work, and together they bound the largest result and dead letter the job can produce, which
 * {@link #maxResultBytes} and {@link #maxDeadLetterBytes} compute so the job can refuse to start when
 * they would not fit in what its Kafka producer may send (docs/SCHEMAS.md lists every limit).
 *
 * @param maxRecordBytes     a prompt record's value, in bytes (larger ones are not decoded)
 * @param maxIdChars         the request id
 * @param maxPromptChars     the prompt text
 * @param maxStopStrings     entries of the stop list
 * @param maxStopChars       one stop string
 * @param maxClientEntries   entries of the client map
 * @param maxClientBytes     the client map's keys and values together, UTF-8
 * @param maxPathChars       a forced memory path ("3.11.7")
 * @param deadLetterRawBytes raw input bytes a dead letter carries at most (the rest is cut; its
 *                           size and SHA-256 say what the whole record was)
 * @param maxMessageBytes    the largest Kafka message the job may write: the producer's
 *                           {@code max.request.size} and the topics' {@code max.message.bytes}
 */
public record RecordLimits(int maxRecordBytes, int maxIdChars, int maxPromptChars, int maxStopStrings, int maxStopChars,
                           int maxClientEntries, int maxClientBytes, int maxPathChars, int deadLetterRawBytes,
                           int maxMessageBytes) implements Serializable {

    /** Error texts in results and dead letters are cut to this many characters. */
    public static final int MAX_ERROR_CHARS = 1000;

    /** Kafka's default {@code max.request.size} and {@code max.message.bytes}, about 1 MiB. */
    public static final int KAFKA_DEFAULT_MESSAGE_BYTES = 1_048_576;

    public static final RecordLimits DEFAULTS = new Builder().build();

    public RecordLimits {
        require(maxRecordBytes >= 64, "max record bytes must be >= 64, got %s", maxRecordBytes);
        require(maxIdChars >= 1, "max id chars must be >= 1, got %s", maxIdChars);
        require(maxPromptChars >= 1, "max prompt chars must be >= 1, got %s", maxPromptChars);
        require(maxStopStrings >= 0 && maxStopChars >= 1, "stop limits must be >= 0 strings of >= 1 chars, got %s, %s",
                maxStopStrings, maxStopChars);
        require(maxClientEntries >= 0 && maxClientBytes >= 0, "client map limits must be >= 0, got %s, %s",
                maxClientEntries, maxClientBytes);
        require(maxPathChars >= 1, "max path chars must be >= 1, got %s", maxPathChars);
        require(deadLetterRawBytes >= 0, "dead letter raw bytes must be >= 0, got %s", deadLetterRawBytes);
        require(maxMessageBytes >= 1024, "max message bytes must be >= 1024, got %s", maxMessageBytes);
    }

    private static void require(boolean ok, String fmt, Object... args) {
        if (!ok) throw new IllegalArgumentException(String.format(fmt, args));
    }

    /** UTF-8 bytes a Java string of {@code chars} chars takes at most (a BMP char is up to 3 bytes). */
    static long utf8Bound(long chars) {
        return 3 * chars;
    }

    /** Avro's zig-zag varint of a length or count: at most 10 bytes. */
    private static final int VARINT = 10;

    /** Bytes of the fields every result or dead letter has besides the bounded ones (header, numbers, names). */
    private static final int FIXED_OVERHEAD = 1024;

    /**
     * The largest encoded GenerationResult: id, text (every token decoded as {@code maxTokenBytes}
     * bytes, each possibly replaced by U+FFFD), its token ids, the echoed client map, an error, a memory
     * fallback note (as long as an error at most), memory path, model and bank versions ({@code versionChars}).
     */
    public long maxResultBytes(int maxNewTokens, int maxTokenBytes, int versionChars) {
        long text = utf8Bound((long) maxNewTokens * maxTokenBytes);
        long ids = (long) maxNewTokens * 5;
        long client = maxClientBytes + 2L * maxClientEntries * VARINT;
        // error, memory fallback and blocked notes are each cut to MAX_ERROR_CHARS
        return FIXED_OVERHEAD + utf8Bound(maxIdChars) + text + ids + client + 3 * utf8Bound(MAX_ERROR_CHARS)
                + utf8Bound(maxPathChars) + utf8Bound(versionChars)
                + utf8Bound(dev.hmem.operators.control.ServedVersion.MAX_LABEL_CHARS) + 10L * VARINT;
    }

    /** The largest encoded DeadLetter: cut raw bytes, an error, a request id, the topic name and a hash. */
    public long maxDeadLetterBytes(int topicChars) {
        return FIXED_OVERHEAD + deadLetterRawBytes + utf8Bound(MAX_ERROR_CHARS) + utf8Bound(maxIdChars)
                + utf8Bound(topicChars) + 64 + 8L * VARINT;
    }

    /** {@code s} cut to at most {@code max} characters, ending in a note of how much was cut when there is room. */
    public static String cut(String s, int max) {
        if (s == null || s.length() <= max) return s;
        String note = "… (" + s.length() + " chars, cut)";
        if (note.length() * 2 > max) note = "";
        int keep = max - note.length();
        // Do not split a surrogate pair: half of one is not valid UTF-16.
        if (keep > 0 && Character.isHighSurrogate(s.charAt(keep - 1))) keep--;
        return s.substring(0, keep) + note;
    }

    /** An error text as results and dead letters carry it. */
    public static String error(String s) {
        return cut(s == null ? "" : s, MAX_ERROR_CHARS);
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxRecordBytes = maxRecordBytes;
        b.maxIdChars = maxIdChars;
        b.maxPromptChars = maxPromptChars;
        b.maxStopStrings = maxStopStrings;
        b.maxStopChars = maxStopChars;
        b.maxClientEntries = maxClientEntries;
        b.maxClientBytes = maxClientBytes;
        b.maxPathChars = maxPathChars;
        b.deadLetterRawBytes = deadLetterRawBytes;
        b.maxMessageBytes = maxMessageBytes;
        return b;
    }

    /** The limits' only defaults and their options (a picocli mixin of the job's options). */
    public static final class Builder {
        @Option(names = "--max-record-bytes", paramLabel = "BYTES", description = "a prompt record's value at most; larger ones are dead-lettered undecoded (default: ${DEFAULT-VALUE})")
        int maxRecordBytes = KAFKA_DEFAULT_MESSAGE_BYTES;
        @Option(names = "--max-id-chars", paramLabel = "N", description = "request id (default: ${DEFAULT-VALUE})")
        int maxIdChars = 256;
        @Option(names = "--max-prompt-chars", paramLabel = "N", description = "prompt text (default: ${DEFAULT-VALUE})")
        int maxPromptChars = 16_384;
        @Option(names = "--max-stop-strings", paramLabel = "N", description = "entries of the stop list (default: ${DEFAULT-VALUE})")
        int maxStopStrings = 16;
        @Option(names = "--max-stop-chars", paramLabel = "N", description = "one stop string (default: ${DEFAULT-VALUE})")
        int maxStopChars = 256;
        @Option(names = "--max-client-entries", paramLabel = "N", description = "entries of the client map (default: ${DEFAULT-VALUE})")
        int maxClientEntries = 32;
        @Option(names = "--max-client-bytes", paramLabel = "BYTES", description = "the client map's keys and values, UTF-8 (default: ${DEFAULT-VALUE})")
        int maxClientBytes = 8_192;
        @Option(names = "--max-path-chars", paramLabel = "N", description = "a requested memory path (default: ${DEFAULT-VALUE})")
        int maxPathChars = 64;
        @Option(names = "--dead-letter-raw-bytes", paramLabel = "BYTES", description = "raw input bytes a dead letter carries at most (default: ${DEFAULT-VALUE})")
        int deadLetterRawBytes = 65_536;
        @Option(names = "--max-message-bytes", paramLabel = "BYTES", description = "the largest Kafka message the job writes: producer max.request.size and the topics' max.message.bytes (default: ${DEFAULT-VALUE})")
        int maxMessageBytes = KAFKA_DEFAULT_MESSAGE_BYTES;

        public Builder maxRecordBytes(int v) { maxRecordBytes = v; return this; }
        public Builder maxIdChars(int v) { maxIdChars = v; return this; }
        public Builder maxPromptChars(int v) { maxPromptChars = v; return this; }
        public Builder stops(int strings, int chars) { maxStopStrings = strings; maxStopChars = chars; return this; }
        public Builder client(int entries, int bytes) { maxClientEntries = entries; maxClientBytes = bytes; return this; }
        public Builder maxPathChars(int v) { maxPathChars = v; return this; }
        public Builder deadLetterRawBytes(int v) { deadLetterRawBytes = v; return this; }
        public Builder maxMessageBytes(int v) { maxMessageBytes = v; return this; }

        public RecordLimits build() {
            return new RecordLimits(maxRecordBytes, maxIdChars, maxPromptChars, maxStopStrings, maxStopChars, maxClientEntries,
                    maxClientBytes, maxPathChars, deadLetterRawBytes, maxMessageBytes);
        }
    }
}
