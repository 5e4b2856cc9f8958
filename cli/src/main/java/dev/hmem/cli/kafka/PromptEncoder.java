package dev.hmem.cli.kafka;

import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.operators.codec.SchemaRegistryClient;
import dev.hmem.schemas.PromptRequest;
import java.io.IOException;

/**
 * How the CLI's producers (the demo, the load tests) write prompts: Avro single-object encoding, or — given a schema
 * registry — the Confluent wire format with the id the registry gave the CLI's schema version, as a Kafka shop's
 * serializer does. The job reads both.
 */
public final class PromptEncoder {

    private final int schemaId;  // < 0: single-object encoding
    private final String registry;

    private PromptEncoder(int schemaId, String registry) {
        this.schemaId = schemaId;
        this.registry = registry;
    }

    public static PromptEncoder singleObject() {
        return new PromptEncoder(-1, null);
    }

    /** Registers this build's PromptRequest under {@code subject} (or finds it registered) and writes with its id. */
    public static PromptEncoder registry(String url, String subject) throws IOException {
        return new PromptEncoder(new SchemaRegistryClient(url).register(subject, PromptRequest.getClassSchema().toString()), url);
    }

    /** {@link #registry} when {@code url} is given, else single-object encoding. */
    public static PromptEncoder of(String url, String subject) throws IOException {
        return url == null || url.isBlank() ? singleObject() : registry(url, subject);
    }

    public byte[] encode(PromptRequest r) {
        return schemaId < 0 ? PromptCodec.encode(r) : PromptCodec.encodeConfluent(r, schemaId);
    }

    public String describe() {
        return schemaId < 0 ? "Avro single-object encoding" : "Confluent wire format, schema id " + schemaId + " from " + registry;
    }
}
