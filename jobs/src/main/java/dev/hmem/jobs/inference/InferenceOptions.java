package dev.hmem.jobs.inference;

import dev.hmem.operators.engine.ServingConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.apache.flink.configuration.GlobalConfiguration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * Every option of the inference job, validated once: Kafka, checkpointing and the {@link ServingConfig}. Parsed from
 * {@code --key value} arguments by picocli ({@link #parse}; unknown flags and repeated ones refused with a clear
 * message); built in code by {@link Builder}, which holds the only copy of each default; turned back into the flags a
 * cluster submission needs by {@link #toArgs}. Shown in the Flink UI as the job's global parameters, without the
 * Kafka client properties (they may hold credentials).
 *
 * @param writerSchemasDir     directory of PromptRequest schemas (.avsc) producers may write with, or null
 * @param writerSchemas        their contents, read when the options are built
 * @param kafkaPropertiesFile  Kafka client properties file, or null
 * @param kafkaPropertyFlags   {@code key=value} client properties given on the command line
 * @param kafkaProperties      the file's properties with the flags' on top
 * @param schemaRegistry       a Confluent-compatible schema registry API (Apicurio: {@code .../apis/ccompat/v7}), or null
 * @param schemaSubject        the subject the prompt schema versions are registered under
 * @param createTopicPartitions create missing topics with this many partitions at start; 0 = refuse to start
 * @param transactionalIdPrefix the sinks' prefix: given, or derived from the group id and the topics so that two
 *                              deployments on the same brokers never share one (they would fence each other)
 * @param controlTopic         the control topic (one partition) the job takes commands from, or null: without it the
 *                              job serves its command-line bank and anchor until it is redeployed
 * @param statusTopic          where subtasks report what they did with each command (null without a control topic)
 * @param tokenTopic           where streaming requests' partial results go, or null: then a request that asks to stream
 *                              gets its final result only
 */
public record InferenceOptions(
        String bootstrapServers, String promptsTopic, String resultsTopic, String deadLetterTopic, String groupId,
        String startingOffsets, boolean exactlyOnce, long checkpointIntervalMs, int sourceParallelism,
        int routeParallelism, String transactionalIdPrefix, int lingerMs, int batchBytes, String compression,
        long transactionTimeoutMs, long bufferTimeoutMs, String writerSchemasDir, List<String> writerSchemas,
        String kafkaPropertiesFile, List<String> kafkaPropertyFlags, Map<String, String> kafkaProperties,
        int createTopicPartitions, String schemaRegistry, String schemaSubject, int tolerableCheckpointFailures,
        String controlTopic, String statusTopic, String tokenTopic, ServingConfig serving) implements Serializable {

    /** Properties the job sets itself: a client property may not override them. */
    static final List<String> MANAGED_PROPERTIES = List.of("bootstrap.servers", "transactional.id", "isolation.level", "enable.auto.commit");

    public InferenceOptions {
        require(bootstrapServers != null && !bootstrapServers.isBlank(), "--bootstrap-servers is required");
        require(Set.of("committed", "earliest", "latest").contains(startingOffsets),
                "--starting-offsets must be committed, earliest or latest, got '%s'", startingOffsets);
        require(checkpointIntervalMs >= 100, "--checkpoint-interval-ms must be >= 100, got %s", checkpointIntervalMs);
        require(sourceParallelism >= 1 && routeParallelism >= 1, "--source-parallelism and --route-parallelism must be >= 1");
        require(lingerMs >= 0 && batchBytes > 0, "--linger-ms >= 0 and --batch-bytes > 0 required");
        require(Set.of("none", "gzip", "snappy", "lz4", "zstd").contains(compression),
                "--compression must be none, gzip, snappy, lz4 or zstd, got '%s'", compression);
        require(bufferTimeoutMs >= 0, "--buffer-timeout-ms must be >= 0 (0 = send each record at once), got %s", bufferTimeoutMs);
        require(transactionTimeoutMs >= checkpointIntervalMs,
                "--transaction-timeout-ms (%s) must exceed the checkpoint interval (%s)", transactionTimeoutMs, checkpointIntervalMs);
        require(serving != null, "serving options are required");
        require(tolerableCheckpointFailures >= 0, "--tolerable-checkpoint-failures must be >= 0, got %s", tolerableCheckpointFailures);
        require(createTopicPartitions >= 0, "--create-topics must be >= 0 partitions (0 = check only), got %s", createTopicPartitions);
        require(transactionalIdPrefix != null && !transactionalIdPrefix.isBlank(), "the transactional id prefix is empty");
        writerSchemas = List.copyOf(writerSchemas);
        kafkaPropertyFlags = List.copyOf(kafkaPropertyFlags);
        kafkaProperties = Map.copyOf(kafkaProperties);
        for (String managed : MANAGED_PROPERTIES) {
            require(!kafkaProperties.containsKey(managed), "Kafka property %s is set by the job and cannot be overridden", managed);
        }
    }

    private static void require(boolean ok, String fmt, Object... args) {
        if (!ok) throw new IllegalArgumentException(String.format(fmt, args));
    }

    /** The options {@code args} give (every other option at its default); the message of a refusal names the flag. */
    public static InferenceOptions parse(String... args) {
        return Flags.parse(new Builder(), args).build();
    }

    /** The flags that give these options, defaults left out: what a cluster submission passes as program arguments. */
    public List<String> toArgs() {
        return Flags.toArgs(toBuilder());
    }

    public static Builder builder(String bootstrapServers, ServingConfig serving) {
        Builder b = new Builder();
        b.bootstrapServers = bootstrapServers;
        b.serving = serving.toBuilder();
        return b;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.bootstrapServers = bootstrapServers;
        b.promptsTopic = promptsTopic;
        b.resultsTopic = resultsTopic;
        b.deadLetterTopic = deadLetterTopic;
        b.groupId = groupId;
        b.startingOffsets = startingOffsets;
        b.delivery = exactlyOnce ? Delivery.EXACTLY_ONCE : Delivery.AT_LEAST_ONCE;
        b.checkpointIntervalMs = checkpointIntervalMs;
        b.sourceParallelism = sourceParallelism;
        b.routeParallelism = routeParallelism;
        // A derived prefix stays derived (it follows the group and topics), a given one is kept.
        if (!transactionalIdPrefix.equals(derivedTransactionalIdPrefix(groupId, promptsTopic, resultsTopic, deadLetterTopic))) {
            b.transactionalIdPrefix = transactionalIdPrefix;
        }
        b.lingerMs = lingerMs;
        b.batchBytes = batchBytes;
        b.compression = compression;
        b.transactionTimeoutMs = transactionTimeoutMs;
        b.bufferTimeoutMs = bufferTimeoutMs;
        b.writerSchemasDir = writerSchemasDir;
        b.kafkaPropertiesFile = kafkaPropertiesFile;
        b.kafkaPropertyFlags = new ArrayList<>(kafkaPropertyFlags);
        b.createTopicPartitions = createTopicPartitions;
        b.schemaRegistry = schemaRegistry;
        b.tolerableCheckpointFailures = tolerableCheckpointFailures;
        b.controlTopic = controlTopic;
        b.tokenTopic = tokenTopic;
        if (statusTopic != null && !statusTopic.equals(controlTopic + "-status")) b.statusTopic = statusTopic;
        if (!schemaSubject.equals(promptsTopic + "-value")) b.schemaSubject = schemaSubject;
        b.serving = serving.toBuilder();
        return b;
    }

    /** Where the decode operator finds the schemas producers write with. */
    public dev.hmem.operators.codec.WriterSchemas.Source writerSchemaSource() {
        return new dev.hmem.operators.codec.WriterSchemas.Source(writerSchemas, schemaRegistry, schemaSubject);
    }

    /** {@code groupId-} and 8 hex digits of the topics' hash: stable across restarts, distinct across deployments. */
    static String derivedTransactionalIdPrefix(String groupId, String prompts, String results, String deadLetters) {
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest((prompts + "\n" + results + "\n" + deadLetters)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return groupId + "-" + java.util.HexFormat.of().formatHex(h, 0, 4);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** The options as flags, for the Flink UI: everything but the Kafka client properties. */
    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("bootstrap-servers", bootstrapServers);
        m.put("prompts-topic", promptsTopic);
        m.put("results-topic", resultsTopic);
        m.put("dead-letter-topic", deadLetterTopic);
        if (controlTopic != null) m.put("control-topic", controlTopic);
        if (tokenTopic != null) m.put("token-topic", tokenTopic);
        m.put("delivery", exactlyOnce ? "exactly-once" : "at-least-once");
        m.put("checkpoint-interval-ms", Long.toString(checkpointIntervalMs));
        m.put("serving", serving.toString());
        return m;
    }

    /** What the sinks promise. */
    public enum Delivery {
        EXACTLY_ONCE, AT_LEAST_ONCE;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** picocli: "exactly-once" / "at-least-once". */
    public static final class DeliveryConverter implements CommandLine.ITypeConverter<Delivery> {
        @Override
        public Delivery convert(String s) {
            for (Delivery d : Delivery.values()) if (d.toString().equals(s)) return d;
            throw new IllegalArgumentException("must be exactly-once or at-least-once, got '" + s + "'");
        }
    }

    /** The job's options: their only defaults, their command-line declarations, and a fluent builder. */
    @Command(name = "hmem-inference", description = "The hmem inference job: Kafka prompts in, Kafka results out.")
    public static final class Builder {
        @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT", description = "the Kafka brokers")
        String bootstrapServers;
        @Option(names = "--prompts-topic", paramLabel = "TOPIC", description = "(default: ${DEFAULT-VALUE})")
        String promptsTopic = "hmem-prompts";
        @Option(names = "--results-topic", paramLabel = "TOPIC", description = "(default: ${DEFAULT-VALUE})")
        String resultsTopic = "hmem-results";
        @Option(names = "--dead-letter-topic", paramLabel = "TOPIC", description = "(default: ${DEFAULT-VALUE})")
        String deadLetterTopic = "hmem-dead-letters";
        @Option(names = "--control-topic", paramLabel = "TOPIC", description = "take commands (activate a new bank and anchor, block or unblock memories) from this one-partition topic; without it the job serves its command-line version until redeployed")
        String controlTopic;
        @Option(names = "--token-topic", paramLabel = "TOPIC", description = "where streaming requests' partial results go (TokenChunk); without it a request that asks to stream gets its final result only")
        String tokenTopic;
        @Option(names = "--status-topic", paramLabel = "TOPIC", description = "where subtasks report what they did with each command (default: <control-topic>-status)")
        String statusTopic;
        @Option(names = "--group-id", paramLabel = "ID", description = "the source's consumer group (default: ${DEFAULT-VALUE})")
        String groupId = "hmem-inference";
        @Option(names = "--starting-offsets", paramLabel = "committed|earliest|latest", description = "where a job without state starts reading (default: ${DEFAULT-VALUE})")
        String startingOffsets = "committed";
        @Option(names = "--delivery", paramLabel = "exactly-once|at-least-once", converter = DeliveryConverter.class, description = "(default: ${DEFAULT-VALUE})")
        Delivery delivery = Delivery.EXACTLY_ONCE;
        @Option(names = "--checkpoint-interval-ms", paramLabel = "MS", description = "(default: ${DEFAULT-VALUE})")
        long checkpointIntervalMs = 2_000;
        /**
         * Records are small and few (a prompt, an answer) while each costs milliseconds of model time, so network
         * buffers are flushed per record: Flink's default (100 ms) would hold a prompt at each exchange for up to that
         * long at low load, twice before its first token.
         */
        @Option(names = "--buffer-timeout-ms", paramLabel = "MS", description = "network buffer flush timeout; 0 = every record at once (default: ${DEFAULT-VALUE})")
        long bufferTimeoutMs = 0;
        @Option(names = "--source-parallelism", paramLabel = "N", description = "Kafka source, decode and validate subtasks (default: ${DEFAULT-VALUE})")
        int sourceParallelism = 1;
        @Option(names = "--route-parallelism", paramLabel = "N", description = "routing subtasks (default: ${DEFAULT-VALUE})")
        int routeParallelism = 1;
        @Option(names = "--transactional-id-prefix", paramLabel = "PREFIX", description = "the transactional sinks' id prefix (default: the group id and a hash of the three topics, distinct per deployment)")
        String transactionalIdPrefix;
        @Option(names = "--create-topics", paramLabel = "PARTITIONS", description = "create missing topics at start with this many partitions; 0 = refuse to start when one is missing (default: ${DEFAULT-VALUE})")
        int createTopicPartitions = 0;
        /**
         * Flink's default is 0: one checkpoint that times out (a slow sink, a stuck barrier) fails the job, its restart
         * replays the same load, and the job can run out of restarts without ever being wrong.
         */
        @Option(names = "--tolerable-checkpoint-failures", paramLabel = "N", description = "consecutive failed checkpoints tolerated before the job restarts (default: ${DEFAULT-VALUE})")
        int tolerableCheckpointFailures = 5;
        @Option(names = "--schema-registry", paramLabel = "URL", description = "a Confluent-compatible schema registry (e.g. Apicurio's http://host:8080/apis/ccompat/v7): writer schemas are looked up there by id or fingerprint, and the job registers its own version with FULL compatibility")
        String schemaRegistry;
        @Option(names = "--schema-subject", paramLabel = "SUBJECT", description = "the registry subject of prompt schemas (default: <prompts-topic>-value)")
        String schemaSubject;
        /** Small linger and batch size let the producer coalesce results while the sink's buffer back-pressures the job. */
        @Option(names = "--linger-ms", paramLabel = "MS", description = "(default: ${DEFAULT-VALUE})")
        int lingerMs = 5;
        @Option(names = "--batch-bytes", paramLabel = "BYTES", description = "(default: ${DEFAULT-VALUE})")
        int batchBytes = 65_536;
        @Option(names = "--compression", paramLabel = "none|gzip|snappy|lz4|zstd", description = "(default: ${DEFAULT-VALUE})")
        String compression = "lz4";
        @Option(names = "--transaction-timeout-ms", paramLabel = "MS", description = "(default: ${DEFAULT-VALUE})")
        long transactionTimeoutMs = 600_000;
        @Option(names = "--writer-schemas", paramLabel = "DIR", description = "PromptRequest schemas (.avsc) producers may write with besides the current one")
        String writerSchemasDir;
        @Option(names = "--kafka-properties", paramLabel = "FILE", description = "Kafka client properties (security, timeouts) for the source and sinks")
        String kafkaPropertiesFile;
        @Option(names = "--kafka-property", paramLabel = "KEY=VALUE", description = "one client property, over the file's (repeatable); not for secrets, which program arguments would show: those belong in --kafka-properties")
        List<String> kafkaPropertyFlags = new ArrayList<>();
        @Mixin
        ServingConfig.Builder serving = new ServingConfig.Builder();

        public Builder topics(String prompts, String results, String deadLetters) {
            promptsTopic = prompts;
            resultsTopic = results;
            deadLetterTopic = deadLetters;
            return this;
        }
        public Builder groupId(String v) { groupId = v; return this; }
        public Builder controlTopic(String v) { controlTopic = v; return this; }
        public Builder tokenTopic(String v) { tokenTopic = v; return this; }
        public Builder startingOffsets(String v) { startingOffsets = v; return this; }
        public Builder delivery(Delivery v) { delivery = v; return this; }
        public Builder checkpointIntervalMs(long v) { checkpointIntervalMs = v; return this; }
        public Builder sourceParallelism(int v) { sourceParallelism = v; return this; }
        public Builder routeParallelism(int v) { routeParallelism = v; return this; }
        public Builder transactionalIdPrefix(String v) { transactionalIdPrefix = v; return this; }
        public Builder writerSchemas(String dir) { writerSchemasDir = dir; return this; }
        public Builder createTopics(int partitions) { createTopicPartitions = partitions; return this; }
        public Builder schemaRegistry(String url) { schemaRegistry = url; return this; }
        public Builder kafkaProperties(String file) { kafkaPropertiesFile = file; return this; }
        public Builder kafkaProperty(String keyValue) { kafkaPropertyFlags.add(keyValue); return this; }
        public Builder serving(UnaryOperator<ServingConfig.Builder> edit) { serving = edit.apply(serving); return this; }

        public InferenceOptions build() {
            return new InferenceOptions(bootstrapServers, promptsTopic, resultsTopic, deadLetterTopic, groupId, startingOffsets,
                    delivery == Delivery.EXACTLY_ONCE, checkpointIntervalMs, sourceParallelism, routeParallelism,
                    transactionalIdPrefix != null ? transactionalIdPrefix
                            : derivedTransactionalIdPrefix(groupId, promptsTopic, resultsTopic, deadLetterTopic),
                    lingerMs, batchBytes, compression, transactionTimeoutMs, bufferTimeoutMs,
                    writerSchemasDir, readWriterSchemas(writerSchemasDir), kafkaPropertiesFile, kafkaPropertyFlags,
                    readKafkaProperties(kafkaPropertiesFile, kafkaPropertyFlags), createTopicPartitions,
                    schemaRegistry == null || schemaRegistry.isBlank() ? null : schemaRegistry,
                    schemaSubject != null ? schemaSubject : promptsTopic + "-value", tolerableCheckpointFailures,
                    controlTopic == null || controlTopic.isBlank() ? null : controlTopic,
                    controlTopic == null || controlTopic.isBlank() ? null : statusTopic != null ? statusTopic : controlTopic + "-status",
                    tokenTopic == null || tokenTopic.isBlank() ? null : tokenTopic, serving.build());
        }
    }

    /** A properties file, then {@code key=value} flags on top. */
    static Map<String, String> readKafkaProperties(String file, List<String> flags) {
        Map<String, String> out = new TreeMap<>();
        if (file != null && !file.isBlank()) {
            Properties props = new Properties();
            try (InputStream in = Files.newInputStream(Path.of(file))) {
                props.load(in);
            } catch (IOException e) {
                throw new IllegalArgumentException("--kafka-properties: cannot read " + file + ": " + e.getMessage());
            }
            for (String k : props.stringPropertyNames()) out.put(k, props.getProperty(k));
        }
        for (String kv : flags) {
            int eq = kv.indexOf('=');
            require(eq > 0, "--kafka-property takes key=value, got '%s'", kv);
            String key = kv.substring(0, eq).trim();
            // Program arguments are shown in the Flink UI and REST API as given; Flink masks secrets only in its
            // configuration, so a credential on the command line would be published.
            require(!GlobalConfiguration.isSensitive(key), "--kafka-property %s=... would show its value in the job's program "
                    + "arguments (Flink masks secrets only in its configuration): put it in the --kafka-properties file", key);
            out.put(key, kv.substring(eq + 1).trim());
        }
        return out;
    }

    /** Avro schemas (.avsc) in a directory: PromptRequest versions producers may write with. */
    static List<String> readWriterSchemas(String dir) {
        if (dir == null || dir.isBlank()) return List.of();
        try (var files = Files.list(Path.of(dir))) {
            List<String> out = new ArrayList<>();
            for (Path p : files.filter(f -> f.toString().endsWith(".avsc")).sorted().toList()) out.add(Files.readString(p));
            return out;
        } catch (IOException e) {
            throw new IllegalArgumentException("--writer-schemas: cannot read " + dir + ": " + e.getMessage());
        }
    }
}
