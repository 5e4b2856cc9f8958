package dev.hmem.operators.functions;

import dev.hmem.operators.codec.InvalidRecordException;
import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.operators.codec.SchemaRegistryClient;
import dev.hmem.operators.codec.WriterSchemas;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.schemas.PromptRequest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Avro bytes → {@link PromptTask}, with the job's defaults filled in. A record that does not
 * decode — for whatever reason, short of a fatal VM error — goes to the dead-letter output with the
 * reason; everything else flows on. No record can fail this task.
 */
public final class DecodePromptFunction extends ProcessFunction<RawRecord, PromptTask> {

    public static final OutputTag<DeadLetterRecord> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

    /** Asking a schema registry that does not answer: attempts, and the wait before the first retry (doubled each time). */
    static final int REGISTRY_ATTEMPTS = 5;
    static final long REGISTRY_BACKOFF_MS = 250;

    private final ServingConfig config;
    private final WriterSchemas.Source schemas;
    private transient PromptCodec codec;
    private transient Counter deadLetters;
    private transient Counter registryRetries;

    /** @param schemas where PromptRequest versions producers write with are found */
    public DecodePromptFunction(ServingConfig config, WriterSchemas.Source schemas) {
        this.config = config;
        this.schemas = schemas;
    }

    @Override
    public void open(OpenContext ctx) {
        codec = new PromptCodec(schemas.open(), config.limits().maxRecordBytes());
        deadLetters = getRuntimeContext().getMetricGroup().counter("deadLetters");
        registryRetries = getRuntimeContext().getMetricGroup().counter("schemaRegistryRetries");
    }

    @Override
    public void processElement(RawRecord r, Context ctx, Collector<PromptTask> out) throws InterruptedException {
        PromptTask task;
        try {
            task = toTask(r, decode(r.value()));
        } catch (InvalidRecordException | SchemaRegistryClient.UnavailableException e) {
            refuse(r, e.getMessage(), ctx);
            return;
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            refuse(r, "cannot decode: " + Failures.describe(e), ctx);
            return;
        }
        out.collect(task);
    }

    /**
     * Decodes, asking the registry again with a doubling wait while it cannot be asked (about 4 s in all): this
     * subtask's input waits meanwhile, which is back-pressure, not loss. A registry still down after that costs the
     * record (a dead letter and, when its id can be read, an error result), not the job.
     */
    private PromptRequest decode(byte[] value) throws InvalidRecordException, SchemaRegistryClient.UnavailableException,
            InterruptedException {
        long wait = REGISTRY_BACKOFF_MS;
        for (int attempt = 1; ; attempt++) {
            try {
                return codec.decode(value);
            } catch (SchemaRegistryClient.UnavailableException e) {
                if (attempt >= REGISTRY_ATTEMPTS) {
                    throw new SchemaRegistryClient.UnavailableException("writer schema unknown and " + e.getMessage()
                            + " (" + attempt + " attempts)", e);
                }
                registryRetries.inc();
                Thread.sleep(wait);
                wait *= 2;
            }
        }
    }

    /**
     * A dead letter, and — when the record's id can be read although its body cannot (a schema the job cannot find,
     * say) — an error result, so that its client is not left waiting.
     */
    private void refuse(RawRecord r, String error, Context ctx) {
        deadLetters.inc();
        Optional<String> id = PromptCodec.recoverId(r.value(), config.limits().maxIdChars());
        ctx.output(DEAD_LETTERS, DeadLetterRecord.of(r, "decode", error, id.orElse(null), config.limits()));
        id.ifPresent(i -> ctx.output(ValidatePromptFunction.ERROR_RESULTS, ResultRecord.error(i, RecordLimits.error(error),
                Map.of(), r.timestamp() > 0 ? r.timestamp() : System.currentTimeMillis(), "")));
    }

    private PromptTask toTask(RawRecord r, PromptRequest p) {
        long now = System.currentTimeMillis();
        long created = p.getCreatedAt() != null ? p.getCreatedAt().toEpochMilli() : (r.timestamp() > 0 ? r.timestamp() : now);
        Map<String, String> client = new HashMap<>();
        if (p.getClient() != null) p.getClient().forEach((k, v) -> client.put(String.valueOf(k), String.valueOf(v)));
        String[] stop = p.getStop() == null ? new String[0] : p.getStop().stream().map(String::valueOf).toArray(String[]::new);
        return new PromptTask(r.uid(), p.getId(), p.getText(), r.value(), r.topic(), r.partition(), r.offset(),
                null, p.getMaxNewTokens() != null ? p.getMaxNewTokens() : config.defaultMaxNewTokens(),
                p.getTemperature() != null ? p.getTemperature() : 0.0, p.getTopK() != null ? p.getTopK() : 0,
                p.getTopP() != null ? p.getTopP() : 1.0, p.getSeed() != null ? p.getSeed() : seedOf(p.getId()),
                stop, p.getMemoryPath(), p.getNoMemory(), client, created, now, null, 0,
                p.getDeadlineMs() == null ? deadline(created, config.queueDeadlineMs())
                        // A request's own deadline of 0 or less is refused by validation (deadline not after creation).
                        : p.getDeadlineMs() <= 0 ? created : deadline(created, p.getDeadlineMs()), 0, null, null,
                p.getStream() != null ? p.getStream() : config.streamTokens(), Boolean.TRUE.equals(p.getIgnoreEos()));
    }

    /** {@code created + ms}, or none for 0 (and for a value that would overflow: no deadline a clock can reach). */
    static long deadline(long created, long ms) {
        if (ms == 0) return Long.MAX_VALUE;
        long at = created + ms;
        return at < created ? Long.MAX_VALUE : at;
    }

    /** FNV-1a of the id: a replayed request samples exactly as the first time. */
    static long seedOf(String id) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < id.length(); i++) {
            h ^= id.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }
}
