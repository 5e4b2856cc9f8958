package dev.hmem.operators.codec;

import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.schemas.PromptRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;

/**
 * Prompt requests on the wire: Avro single-object encoding (0xC3 0x01, the 8-byte CRC-64-AVRO
 * fingerprint of the writer's schema, then Avro binary). The fingerprint selects the writer schema;
 * the current schema is always known, and other versions producers use (older ones, or a subset
 * a client in another language writes) can be registered, each resolved into the current schema
 * with Avro's schema-resolution rules (docs/SCHEMAS.md).
 *
 * <p>Whatever the bytes, {@link #decode} returns a request or throws {@link InvalidRecordException}:
 * a record over {@code maxRecordBytes} is not looked at, every length and count in the body is
 * checked against the record's own size before Avro allocates anything ({@link AvroBounds}), and any
 * other exception the decoder raises becomes the record's error. Only a fatal VM error escapes.
 */
public final class PromptCodec {

    private static final BinaryMessageEncoder<PromptRequest> ENCODER = PromptRequest.getEncoder();
    private static final int HEADER = 10;

    private final BinaryMessageDecoder<PromptRequest> decoder;
    private final Map<Long, Schema> writers = new HashMap<>();
    private final int maxRecordBytes;

    /** A codec knowing the current schema and {@code writerSchemas} (Avro JSON). */
    public PromptCodec(List<String> writerSchemas, int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
        decoder = new BinaryMessageDecoder<>(SpecificData.get(), PromptRequest.getClassSchema());
        writers.put(SchemaNormalization.parsingFingerprint64(PromptRequest.getClassSchema()), PromptRequest.getClassSchema());
        for (String json : writerSchemas) {
            Schema s = new Schema.Parser().parse(json);
            if (!s.getFullName().equals(PromptRequest.getClassSchema().getFullName())) {
                throw new IllegalArgumentException("writer schema " + s.getFullName() + " is not a PromptRequest");
            }
            decoder.addSchema(s);
            writers.put(SchemaNormalization.parsingFingerprint64(s), s);
        }
    }

    public PromptCodec(List<String> writerSchemas) {
        this(writerSchemas, RecordLimits.DEFAULTS.maxRecordBytes());
    }

    public PromptCodec() {
        this(List.of());
    }

    /** Decodes one record; the exception message says what is wrong with the bytes. */
    public PromptRequest decode(byte[] bytes) throws InvalidRecordException {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidRecordException("empty record (no value)");
        }
        if (bytes.length > maxRecordBytes) {
            throw new InvalidRecordException("record has " + bytes.length + " bytes, the limit is " + maxRecordBytes);
        }
        if (bytes.length < HEADER || (bytes[0] & 0xff) != 0xC3 || (bytes[1] & 0xff) != 0x01) {
            throw new InvalidRecordException(String.format(
                    "not an Avro single-object encoded PromptRequest: expected header C3 01 + 8-byte schema fingerprint, "
                            + "got %d bytes starting %s", bytes.length, hex(bytes, 4)));
        }
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        Schema writer = writers.get(fingerprint);
        if (writer == null) {
            throw new InvalidRecordException("unknown writer schema fingerprint " + hex(bytes, HEADER).substring(6)
                    + ": not a PromptRequest schema this job knows (register it with --writer-schemas, docs/SCHEMAS.md)");
        }
        AvroBounds.check(writer, bytes, HEADER);
        PromptRequest p;
        try {
            p = decoder.decode(bytes);
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            throw new InvalidRecordException("malformed PromptRequest body: " + Failures.describe(e));
        }
        if (p == null || p.getId() == null || p.getText() == null) {
            throw new InvalidRecordException("malformed PromptRequest body: id or text missing");
        }
        return p;
    }

    public static byte[] encode(PromptRequest r) {
        try {
            ByteBuffer b = ENCODER.encode(r);
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, b.length); i++) sb.append(String.format("%02X ", b[i]));
        return sb.toString().trim();
    }
}
