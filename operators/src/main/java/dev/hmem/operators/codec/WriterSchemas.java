package dev.hmem.operators.codec;

import dev.hmem.schemas.PromptRequest;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * The PromptRequest schemas producers write with, found by the 8-byte fingerprint of single-object encoding or by the
 * 4-byte global id of the Confluent wire format: the job's own schema, those given with {@code --writer-schemas}, and —
 * with a schema registry — any version registered under the prompt subject, fetched on first sight and cached.
 *
 * <p>Records are hostile until decoded, so lookups are bounded: an unknown fingerprint rescans the subject at most once
 * every {@value #RESCAN_MS} ms, an unknown id is remembered as unknown for {@value #NEGATIVE_MS} ms, and at most
 * {@value #LOOKUPS_PER_SECOND} lookups a second reach the registry, however many records with made-up ids arrive.
 * Used by one thread (a decode subtask).
 */
public final class WriterSchemas {

    static final long RESCAN_MS = 10_000, NEGATIVE_MS = 60_000;
    static final int LOOKUPS_PER_SECOND = 20;
    private static final int NEGATIVE_ENTRIES = 10_000;

    private final Map<Long, Schema> byFingerprint = new HashMap<>();
    private final Map<Integer, Schema> byId = new HashMap<>();
    private final Map<Integer, Long> unknownIds = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Long> e) {
            return size() > NEGATIVE_ENTRIES;
        }
    };
    private final SchemaRegistryClient registry;
    private final String subject;
    private long lastScan = Long.MIN_VALUE / 2;
    private long budgetSecond;
    private int budgetUsed;

    /**
     * @param extra    PromptRequest schema versions (Avro JSON) known without a registry
     * @param registry the registry, or null
     * @param subject  the prompt topic's value subject in the registry (TopicNameStrategy: {@code <topic>-value})
     */
    public WriterSchemas(List<String> extra, SchemaRegistryClient registry, String subject) {
        this.registry = registry;
        this.subject = subject;
        add(PromptRequest.getClassSchema());
        for (String json : extra) add(parse(json, "writer schema"));
    }

    public static WriterSchemas of(List<String> extra) {
        return new WriterSchemas(extra, null, null);
    }

    /**
     * Where a job's writer schemas come from, shipped with its decode operator: schemas given by hand, and the
     * registry (its Confluent-compatible API's URL, or null) with the prompt subject.
     */
    public record Source(List<String> extra, String registryUrl, String subject) implements java.io.Serializable {
        public Source {
            extra = List.copyOf(extra);
        }

        public WriterSchemas open() {
            return new WriterSchemas(extra, registryUrl == null ? null : new SchemaRegistryClient(registryUrl), subject);
        }
    }

    private Schema add(Schema s) {
        byFingerprint.put(SchemaNormalization.parsingFingerprint64(s), s);
        return s;
    }

    private static Schema parse(String json, String what) {
        Schema s = new Schema.Parser().parse(json);
        if (!s.getFullName().equals(PromptRequest.getClassSchema().getFullName())) {
            throw new IllegalArgumentException(what + " " + s.getFullName() + " is not a " + PromptRequest.getClassSchema().getFullName());
        }
        return s;
    }

    public boolean hasRegistry() {
        return registry != null;
    }

    /** The schema with this fingerprint, or empty; throws when the registry cannot be asked. */
    public Optional<Schema> byFingerprint(long fingerprint) throws IOException {
        Schema s = byFingerprint.get(fingerprint);
        if (s != null || registry == null) return Optional.ofNullable(s);
        long now = System.currentTimeMillis();
        if (now - lastScan < RESCAN_MS || !spend(now)) return Optional.empty();
        for (SchemaRegistryClient.Version v : registry.versions(subject)) {
            Schema parsed = add(parse(v.schema(), "registered schema " + subject + " version " + v.version()));
            byId.put(v.id(), parsed);
        }
        lastScan = now;
        return Optional.ofNullable(byFingerprint.get(fingerprint));
    }

    /** The schema with this global id, or empty; throws when the registry cannot be asked. */
    public Optional<Schema> byId(int id) throws IOException {
        Schema s = byId.get(id);
        if (s != null || registry == null) return Optional.ofNullable(s);
        long now = System.currentTimeMillis();
        Long unknownSince = unknownIds.get(id);
        if (unknownSince != null && now - unknownSince < NEGATIVE_MS) return Optional.empty();
        if (!spend(now)) return Optional.empty();
        Optional<String> json = registry.schemaById(id);
        if (json.isEmpty()) {
            unknownIds.put(id, now);
            return Optional.empty();
        }
        Schema parsed = parse(json.get(), "registered schema id " + id);
        byId.put(id, parsed);
        add(parsed);
        return Optional.of(parsed);
    }

    /** Takes one registry lookup from this second's budget. */
    private boolean spend(long nowMs) {
        long second = nowMs / 1000;
        if (second != budgetSecond) {
            budgetSecond = second;
            budgetUsed = 0;
        }
        return budgetUsed++ < LOOKUPS_PER_SECOND;
    }

    public String describe() {
        return registry == null ? "the job's schema and --writer-schemas" : "schema registry " + registry.url() + " (subject " + subject + ")";
    }
}
