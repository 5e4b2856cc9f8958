package dev.hmem.operators.codec;

import dev.hmem.schemas.PromptRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;

/**
 * Prompt requests on the wire: Avro single-object encoding (0xC3 0x01, the 8-byte CRC-64-AVRO
 * fingerprint of the writer's schema, then Avro binary). The fingerprint selects the writer schema;
 * the current schema is always known, and other versions producers use (older ones, or a subset
 * a client in another language writes) can be registered, each resolved into the current schema
 * with Avro's schema-resolution rules (docs/SCHEMAS.md).
 */
public final class PromptCodec {

    private static final BinaryMessageEncoder<PromptRequest> ENCODER = PromptRequest.getEncoder();

    private final BinaryMessageDecoder<PromptRequest> decoder;

    /** A codec knowing the current schema and {@code writerSchemas} (Avro JSON). */
    public PromptCodec(List<String> writerSchemas) {
        decoder = new BinaryMessageDecoder<>(SpecificData.get(), PromptRequest.getClassSchema());
        for (String json : writerSchemas) {
            Schema s = new Schema.Parser().parse(json);
            if (!s.getFullName().equals(PromptRequest.getClassSchema().getFullName())) {
                throw new IllegalArgumentException("writer schema " + s.getFullName() + " is not a PromptRequest");
            }
            decoder.addSchema(s);
        }
    }

    public PromptCodec() {
        this(List.of());
    }

    /** Decodes one record; the exception message says what is wrong with the bytes. */
    public PromptRequest decode(byte[] bytes) throws InvalidRecordException {
        if (bytes == null || bytes.length == 0) {
            throw new InvalidRecordException("empty record (no value)");
        }
        if (bytes.length < 10 || (bytes[0] & 0xff) != 0xC3 || (bytes[1] & 0xff) != 0x01) {
            throw new InvalidRecordException(String.format(
                    "not an Avro single-object encoded PromptRequest: expected header C3 01 + 8-byte schema fingerprint, "
                            + "got %d bytes starting %s", bytes.length, hex(bytes, 4)));
        }
        try {
            return decoder.decode(bytes);
        } catch (MissingSchemaException e) {
            throw new InvalidRecordException("unknown writer schema fingerprint " + hex(bytes, 10).substring(6)
                    + ": not a PromptRequest schema this job knows (register it with --writer-schemas, docs/SCHEMAS.md)");
        } catch (BadHeaderException e) {
            throw new InvalidRecordException("bad single-object header: " + e.getMessage());
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException e) {
            throw new InvalidRecordException("malformed PromptRequest body: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        }
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
