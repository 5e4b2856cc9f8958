package dev.hmem.jobs.inference;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.tensor.WeightFormat;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.util.MultipleParameterTool;
import org.apache.flink.util.ParameterTool;

/**
 * Every option of the inference job, validated once (ranges checked with a clear message,
 * unknown flags refused). Built from {@code --key value} arguments; shown in the Flink UI as the
 * job's global parameters. Defaults live in {@link #DEFAULTS} and nowhere else.
 */
public record InferenceOptions(
        String bootstrapServers, String promptsTopic, String resultsTopic, String deadLetterTopic, String groupId,
        String startingOffsets, boolean exactlyOnce, long checkpointIntervalMs, int sourceParallelism,
        int routeParallelism, String transactionalIdPrefix, int lingerMs, int batchBytes, String compression,
        long transactionTimeoutMs, long bufferTimeoutMs, List<String> writerSchemas, Map<String, String> kafkaProperties,
        ServingConfig serving)
        implements Serializable {

    /** Every flag with its default ("" = required or unset). */
    public static final Map<String, String> DEFAULTS = defaults();

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("bootstrap-servers", "");
        d.put("prompts-topic", "hmem-prompts");
        d.put("results-topic", "hmem-results");
        d.put("dead-letter-topic", "hmem-dead-letters");
        d.put("group-id", "hmem-inference");
        d.put("starting-offsets", "committed");
        d.put("delivery", "exactly-once");
        d.put("checkpoint-interval-ms", "2000");
        d.put("buffer-timeout-ms", "0");
        d.put("source-parallelism", "1");
        d.put("route-parallelism", "1");
        d.put("parallelism", "1");
        d.put("max-parallelism", "128");
        d.put("transactional-id-prefix", "hmem-inference");
        d.put("linger-ms", "5");
        d.put("batch-bytes", "65536");
        d.put("compression", "lz4");
        d.put("transaction-timeout-ms", "600000");
        d.put("model", "");
        d.put("bank", "");
        d.put("context", "0");
        d.put("max-new-tokens", "64");
        d.put("max-new-tokens-limit", "1024");
        RecordLimits lim = RecordLimits.DEFAULTS;
        d.put("max-record-bytes", Integer.toString(lim.maxRecordBytes()));
        d.put("max-id-chars", Integer.toString(lim.maxIdChars()));
        d.put("max-prompt-chars", Integer.toString(lim.maxPromptChars()));
        d.put("max-stop-strings", Integer.toString(lim.maxStopStrings()));
        d.put("max-stop-chars", Integer.toString(lim.maxStopChars()));
        d.put("max-client-entries", Integer.toString(lim.maxClientEntries()));
        d.put("max-client-bytes", Integer.toString(lim.maxClientBytes()));
        d.put("max-path-chars", Integer.toString(lim.maxPathChars()));
        d.put("dead-letter-raw-bytes", Integer.toString(lim.deadLetterRawBytes()));
        d.put("max-message-bytes", Integer.toString(lim.maxMessageBytes()));
        d.put("max-batch", "32");
        d.put("max-paths-per-batch", "32");
        d.put("max-queued", "256");
        d.put("max-wait-ms", "2000");
        d.put("prefill-min-free", "0");
        d.put("prefill-max-delay-ms", Long.toString(BatchGenerator.DEFAULT_PREFILL_MAX_DELAY_MS));
        d.put("cache-mb", "512");
        d.put("pinned-levels", "1");
        d.put("loader-threads", "2");
        d.put("torch-threads", "1");
        d.put("java-decode-rows", Integer.toString(BatchGenerator.DEFAULT_JAVA_DECODE_ROWS));
        d.put("weight-format", "f32");
        d.put("java-block-copy-mb", Long.toString(dev.hmem.runtime.anchor.JavaDecoder.DEFAULT_BLOCK_COPY_BYTES >> 20));
        d.put("route-batch", "32");
        d.put("route-timeout-ms", "5");
        d.put("routing", "affinity");
        d.put("writer-schemas", "");
        d.put("kafka-properties", "");
        d.put("kafka-property", "");
        return d;
    }

    public InferenceOptions {
        require(bootstrapServers != null && !bootstrapServers.isBlank(), "--bootstrap-servers is required");
        require(Set.of("committed", "earliest", "latest").contains(startingOffsets),
                "--starting-offsets must be committed, earliest or latest, got '%s'", startingOffsets);
        require(checkpointIntervalMs >= 100, "--checkpoint-interval-ms must be >= 100, got %s", checkpointIntervalMs);
        require(sourceParallelism >= 1 && routeParallelism >= 1, "parallelism must be >= 1");
        require(lingerMs >= 0 && batchBytes > 0, "--linger-ms >= 0 and --batch-bytes > 0 required");
        require(Set.of("none", "gzip", "snappy", "lz4", "zstd").contains(compression),
                "--compression must be none, gzip, snappy, lz4 or zstd, got '%s'", compression);
        require(bufferTimeoutMs >= 0, "--buffer-timeout-ms must be >= 0 (0 = send each record at once), got %s", bufferTimeoutMs);
        require(transactionTimeoutMs >= checkpointIntervalMs,
                "--transaction-timeout-ms (%s) must exceed the checkpoint interval (%s)", transactionTimeoutMs, checkpointIntervalMs);
    }

    private static void require(boolean ok, String fmt, Object... args) {
        if (!ok) throw new IllegalArgumentException(String.format(fmt, args));
    }

    public static InferenceOptions fromArgs(String... args) {
        MultipleParameterTool p = MultipleParameterTool.fromArgs(args);
        Set<String> unknown = new TreeSet<>(p.toMultiMap().keySet());
        unknown.removeAll(DEFAULTS.keySet());
        require(unknown.isEmpty(), "unknown option(s) %s; known: %s", unknown, DEFAULTS.keySet());
        Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
        for (Map.Entry<String, java.util.Collection<String>> e : p.toMultiMap().entrySet()) {
            if (e.getKey().equals("kafka-property")) continue;
            require(e.getValue().size() == 1, "--%s given %d times", e.getKey(), e.getValue().size());
            v.put(e.getKey(), e.getValue().iterator().next());
        }
        String delivery = v.get("delivery");
        require(delivery.equals("exactly-once") || delivery.equals("at-least-once"),
                "--delivery must be exactly-once or at-least-once, got '%s'", delivery);
        String routing = v.get("routing");
        require(routing.equals("affinity") || routing.equals("round-robin"),
                "--routing must be affinity or round-robin, got '%s'", routing);
        require(!v.get("model").isBlank(), "--model is required (an anchor directory)");
        ServingConfig serving = new ServingConfig(v.get("model"), v.get("bank").isBlank() ? null : v.get("bank"),
                i(v, "context"), i(v, "max-new-tokens"), i(v, "max-new-tokens-limit"), limits(v),
                i(v, "max-batch"), i(v, "max-paths-per-batch"), i(v, "max-queued"), l(v, "max-wait-ms"),
                i(v, "prefill-min-free"), l(v, "prefill-max-delay-ms"),
                l(v, "cache-mb") << 20, i(v, "pinned-levels"), i(v, "loader-threads"), i(v, "torch-threads"),
                i(v, "java-decode-rows"), weightFormat(v.get("weight-format")), l(v, "java-block-copy-mb") << 20,
                i(v, "route-batch"), l(v, "route-timeout-ms"), routing.equals("affinity"), i(v, "parallelism"),
                i(v, "max-parallelism"));
        return new InferenceOptions(v.get("bootstrap-servers"), v.get("prompts-topic"), v.get("results-topic"),
                v.get("dead-letter-topic"), v.get("group-id"), v.get("starting-offsets"), delivery.equals("exactly-once"),
                l(v, "checkpoint-interval-ms"), i(v, "source-parallelism"), i(v, "route-parallelism"),
                v.get("transactional-id-prefix"), i(v, "linger-ms"), i(v, "batch-bytes"), v.get("compression"),
                l(v, "transaction-timeout-ms"), l(v, "buffer-timeout-ms"), writerSchemas(v.get("writer-schemas")),
                kafkaProperties(v.get("kafka-properties"), p.getMultiParameter("kafka-property")), serving);
    }

    private static WeightFormat weightFormat(String s) {
        try {
            return WeightFormat.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--weight-format: " + e.getMessage(), e);
        }
    }

    private static RecordLimits limits(Map<String, String> v) {
        return new RecordLimits(i(v, "max-record-bytes"), i(v, "max-id-chars"), i(v, "max-prompt-chars"),
                i(v, "max-stop-strings"), i(v, "max-stop-chars"), i(v, "max-client-entries"), i(v, "max-client-bytes"),
                i(v, "max-path-chars"), i(v, "dead-letter-raw-bytes"), i(v, "max-message-bytes"));
    }

    /**
     * Kafka client properties for the source and both sinks — security (SASL, TLS), timeouts,
     * anything the job does not set itself: a properties file, then {@code --kafka-property k=v}
     * flags on top. They are never shown in the Flink UI (they may hold credentials).
     */
    static Map<String, String> kafkaProperties(String file, java.util.Collection<String> flags) {
        Map<String, String> out = new java.util.TreeMap<>();
        if (file != null && !file.isBlank()) {
            java.util.Properties props = new java.util.Properties();
            try (var in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(file))) {
                props.load(in);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("--kafka-properties: cannot read " + file + ": " + e.getMessage());
            }
            for (String k : props.stringPropertyNames()) out.put(k, props.getProperty(k));
        }
        if (flags != null) {
            for (String kv : flags) {
                int eq = kv.indexOf('=');
                require(eq > 0, "--kafka-property takes key=value, got '%s'", kv);
                out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        for (String managed : List.of("bootstrap.servers", "transactional.id", "isolation.level", "enable.auto.commit")) {
            require(!out.containsKey(managed), "Kafka property %s is set by the job and cannot be overridden", managed);
        }
        return Map.copyOf(out);
    }

    /** Avro schemas (.avsc) in a directory: PromptRequest versions producers may write with. */
    static List<String> writerSchemas(String dir) {
        if (dir.isBlank()) return List.of();
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of(dir))) {
            List<String> out = new java.util.ArrayList<>();
            for (java.nio.file.Path p : files.filter(f -> f.toString().endsWith(".avsc")).sorted().toList()) {
                out.add(java.nio.file.Files.readString(p));
            }
            return out;
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("--writer-schemas: cannot read " + dir + ": " + e.getMessage());
        }
    }

    private static int i(Map<String, String> v, String k) {
        try {
            return Integer.parseInt(v.get(k).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + k + " must be an integer, got '" + v.get(k) + "'");
        }
    }

    private static long l(Map<String, String> v, String k) {
        try {
            return Long.parseLong(v.get(k).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + k + " must be an integer, got '" + v.get(k) + "'");
        }
    }

    /** The options as flags, for the Flink UI. */
    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("bootstrap-servers", bootstrapServers);
        m.put("prompts-topic", promptsTopic);
        m.put("results-topic", resultsTopic);
        m.put("dead-letter-topic", deadLetterTopic);
        m.put("delivery", exactlyOnce ? "exactly-once" : "at-least-once");
        m.put("checkpoint-interval-ms", Long.toString(checkpointIntervalMs));
        m.put("serving", serving.toString());
        return m;
    }
}
