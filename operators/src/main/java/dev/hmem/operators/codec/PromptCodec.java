package dev.hmem.operators.codec;

import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.schemas.PromptRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Prompt requests on the wire, in either of the two framings Kafka shops use: Avro single-object encoding (0xC3 0x01,
 * the 8-byte CRC-64-AVRO fingerprint of the writer's schema, then Avro binary) or the Confluent wire format (0x00, a
 * 4-byte big-endian schema id of a schema registry, then Avro binary). The fingerprint or id selects the writer schema
 * ({@link WriterSchemas}: the job's own, those given by hand, or any version in the registry); the body is resolved into
 * the current schema with Avro's schema-resolution rules, so producers on older or newer versions are answered
 * (docs/SCHEMAS.md).
 *
 * <p>Whatever the bytes, {@link #decode} returns a request or throws {@link InvalidRecordException}: a record over
 * {@code maxRecordBytes} is not looked at, every length and count in the body is checked against the record's own size
 * before Avro allocates anything ({@link AvroBounds}), and any other exception the decoder raises becomes the record's
 * error — except that a registry that cannot be asked is reported as
 * {@link SchemaRegistryClient.UnavailableException}, which the caller may retry. Only a fatal VM error escapes.
 */
public final class PromptCodec {

    private static final BinaryMessageEncoder<PromptRequest> ENCODER = PromptRequest.getEncoder();
    /** Single-object encoding: C3 01 + 8-byte fingerprint. */
    private static final int SINGLE_OBJECT_HEADER = 10;
    /** Confluent wire format: 00 + 4-byte schema id. */
    private static final int CONFLUENT_HEADER = 5;

    private final WriterSchemas writers;
    private final Map<Schema, SpecificDatumReader<PromptRequest>> readers = new HashMap<>();
    private final int maxRecordBytes;

    public PromptCodec(WriterSchemas writers, int maxRecordBytes) {
        this.writers = writers;
        this.maxRecordBytes = maxRecordBytes;
    }

    /** A codec knowing the current schema and {@code writerSchemas} (Avro JSON), without a registry. */
    public PromptCodec(List<String> writerSchemas, int maxRecordBytes) {
        this(WriterSchemas.of(writerSchemas), maxRecordBytes);
    }

    public PromptCodec(List<String> writerSchemas) {
        this(writerSchemas, RecordLimits.DEFAULTS.maxRecordBytes());
    }

    public PromptCodec() {
        this(List.of());
    }

    /** Decodes one record; the exception message says what is wrong with the bytes. */
    public PromptRequest decode(byte[] bytes) throws InvalidRecordException, SchemaRegistryClient.UnavailableException {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidRecordException("empty record (no value)");
        }
        if (bytes.length > maxRecordBytes) {
            throw new InvalidRecordException("record has " + bytes.length + " bytes, the limit is " + maxRecordBytes);
        }
        Schema writer;
        int body;
        try {
            if (bytes.length >= SINGLE_OBJECT_HEADER && (bytes[0] & 0xff) == 0xC3 && (bytes[1] & 0xff) == 0x01) {
                long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                writer = writers.byFingerprint(fingerprint).orElseThrow(() -> new InvalidRecordException("unknown writer schema fingerprint "
                        + hex(bytes, SINGLE_OBJECT_HEADER).substring(6) + ": not a PromptRequest schema in " + writers.describe()
                        + " (docs/SCHEMAS.md)"));
                body = SINGLE_OBJECT_HEADER;
            } else if (bytes.length >= CONFLUENT_HEADER && bytes[0] == 0) {
                int id = ByteBuffer.wrap(bytes, 1, 4).order(ByteOrder.BIG_ENDIAN).getInt();
                if (!writers.hasRegistry()) {
                    throw new InvalidRecordException("a Confluent-framed record (schema id " + id + ") but the job has no "
                            + "--schema-registry to look its schema up in");
                }
                writer = writers.byId(id).orElseThrow(() -> new InvalidRecordException("unknown writer schema id " + id
                        + ": not a PromptRequest schema in " + writers.describe()));
                body = CONFLUENT_HEADER;
            } else {
                throw new InvalidRecordException(String.format("not a PromptRequest in single-object encoding (C3 01 + 8-byte "
                        + "fingerprint) or the Confluent wire format (00 + 4-byte schema id): got %d bytes starting %s",
                        bytes.length, hex(bytes, 4)));
            }
        } catch (InvalidRecordException | SchemaRegistryClient.UnavailableException e) {
            throw e;
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            throw new InvalidRecordException("cannot resolve the writer schema: " + Failures.describe(e));
        }
        AvroBounds.check(writer, bytes, body);
        PromptRequest p;
        try {
            SpecificDatumReader<PromptRequest> reader = readers.computeIfAbsent(writer,
                    w -> new SpecificDatumReader<>(w, PromptRequest.getClassSchema()));
            p = reader.read(null, DecoderFactory.get().binaryDecoder(bytes, body, bytes.length - body, null));
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            throw new InvalidRecordException("malformed PromptRequest body: " + Failures.describe(e));
        }
        if (p == null || p.getId() == null || p.getText() == null) {
            throw new InvalidRecordException("malformed PromptRequest body: id or text missing");
        }
        return p;
    }

    /**
     * The request id of a record whose body could not be decoded, when its bytes allow: every PromptRequest version
     * begins with the id, an Avro string. Empty when the framing is unknown or the id would run past the record or
     * past {@code maxChars} characters.
     */
    public static Optional<String> recoverId(byte[] bytes, int maxChars) {
        if (bytes == null) return Optional.empty();
        int at;
        if (bytes.length >= SINGLE_OBJECT_HEADER && (bytes[0] & 0xff) == 0xC3 && (bytes[1] & 0xff) == 0x01) at = SINGLE_OBJECT_HEADER;
        else if (bytes.length >= CONFLUENT_HEADER && bytes[0] == 0) at = CONFLUENT_HEADER;
        else return Optional.empty();
        long raw = 0;
        int shift = 0;
        while (true) {  // zig-zag varint, at most 10 bytes
            if (at >= bytes.length || shift > 63) return Optional.empty();
            int b = bytes[at++] & 0xff;
            raw |= (long) (b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0) break;
        }
        long len = (raw >>> 1) ^ -(raw & 1);
        if (len <= 0 || len > bytes.length - at || len > 4L * maxChars) return Optional.empty();
        String id = new String(bytes, at, (int) len, java.nio.charset.StandardCharsets.UTF_8);
        return id.length() > maxChars || id.indexOf('\uFFFD') >= 0 ? Optional.empty() : Optional.of(id);
    }

    /** Single-object encoding of {@code r} with the job's schema. */
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

    /** {@code r} in the Confluent wire format, written with {@code writer} (a registered version, id {@code schemaId}). */
    public static byte[] encodeConfluent(org.apache.avro.generic.GenericRecord r, Schema writer, int schemaId) {
        return confluent(schemaId, new org.apache.avro.generic.GenericDatumWriter<>(writer), r);
    }

    /** The specific writer: it applies the schema's logical-type conversions (created_at is an Instant). Reused: it is stateless. */
    private static final org.apache.avro.specific.SpecificDatumWriter<PromptRequest> SPECIFIC =
            new org.apache.avro.specific.SpecificDatumWriter<>(PromptRequest.class);

    /** {@code r} in the Confluent wire format with the job's own schema, registered under id {@code schemaId}. */
    public static byte[] encodeConfluent(PromptRequest r, int schemaId) {
        return confluent(schemaId, SPECIFIC, r);
    }

    /** Magic byte 0, the 4-byte big-endian schema id, the Avro binary body. */
    private static <T> byte[] confluent(int schemaId, org.apache.avro.io.DatumWriter<T> writer, T r) {
        try {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            out.write(0);
            out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
            var enc = org.apache.avro.io.EncoderFactory.get().binaryEncoder(out, null);
            writer.write(r, enc);
            enc.flush();
            return out.toByteArray();
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
