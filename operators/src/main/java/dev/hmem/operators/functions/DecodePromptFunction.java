package dev.hmem.operators.functions;

import dev.hmem.operators.codec.InvalidRecordException;
import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.schemas.PromptRequest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    private final ServingConfig config;
    private final List<String> writerSchemas;
    private transient PromptCodec codec;
    private transient Counter deadLetters;

    /** @param writerSchemas PromptRequest schema versions producers may use besides the current one */
    public DecodePromptFunction(ServingConfig config, List<String> writerSchemas) {
        this.config = config;
        this.writerSchemas = List.copyOf(writerSchemas);
    }

    @Override
    public void open(OpenContext ctx) {
        codec = new PromptCodec(writerSchemas, config.limits().maxRecordBytes());
        deadLetters = getRuntimeContext().getMetricGroup().counter("deadLetters");
    }

    @Override
    public void processElement(RawRecord r, Context ctx, Collector<PromptTask> out) {
        PromptTask task;
        try {
            task = toTask(r, codec.decode(r.value()));
        } catch (InvalidRecordException e) {
            refuse(r, e.getMessage(), ctx);
            return;
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            refuse(r, "cannot decode: " + Failures.describe(e), ctx);
            return;
        }
        out.collect(task);
    }

    private void refuse(RawRecord r, String error, Context ctx) {
        deadLetters.inc();
        ctx.output(DEAD_LETTERS, DeadLetterRecord.of(r, "decode", error, null, config.limits()));
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
                stop, p.getMemoryPath(), p.getNoMemory(), client, created, now, null, 0);
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
