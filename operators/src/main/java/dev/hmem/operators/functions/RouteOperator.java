package dev.hmem.operators.functions;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.BankStores;
import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.router.MiniLmEmbedder;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * Routes prompts to their memory path. Prompts are embedded in batches (up to
 * {@code routeBatch}, or whatever arrived within {@code routeTimeoutMs}), since MiniLM costs little
 * more for 32 sentences than for one; the batch is flushed before every checkpoint barrier, so
 * routing holds no state. Which generate subtask serves the path is the job's partitioner's
 * choice ({@link dev.hmem.operators.routing.AffinityPartitioner}). A forced path that is not in the tree, or a prompt that cannot be embedded, is dead-lettered (with
 * an error result for the client); the others flow on.
 */
public final class RouteOperator extends AbstractStreamOperator<PromptTask>
        implements OneInputStreamOperator<PromptTask, PromptTask>, BoundedOneInput {

    private final ServingConfig config;
    private transient MemoryBank bank;
    private transient MiniLmEmbedder embedder;
    private transient List<PromptTask> buffer;
    private transient boolean timerSet;
    private transient Counter deadLetters;

    public RouteOperator(ServingConfig config) {
        this.config = config;
    }

    @Override
    public void open() throws Exception {
        super.open();
        buffer = new ArrayList<>();
        deadLetters = getMetricGroup().counter("deadLetters");
        if (config.bankDir() != null) {
            bank = BankStores.open(config.bankDir());
            embedder = MiniLmEmbedder.load(1);
        }
    }

    @Override
    public void processElement(StreamRecord<PromptTask> element) {
        PromptTask t = element.getValue();
        try {
            if (bank == null || t.noMemory()) {
                emit(t, "none", 0);
            } else if (t.forcedPath() != null && !t.forcedPath().isEmpty()) {
                emit(t, bank.validate(MemoryPath.parse(t.forcedPath())).toString(), 0);
            } else {
                buffer.add(t);
                if (buffer.size() >= config.routeBatch()) {
                    flush();
                } else if (!timerSet) {
                    timerSet = true;
                    long at = getProcessingTimeService().getCurrentProcessingTime() + config.routeTimeoutMs();
                    getProcessingTimeService().registerTimer(at, ts -> {
                        timerSet = false;
                        flush();
                    });
                }
            }
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            refuse(t, e instanceof IllegalArgumentException ? e.getMessage() : "cannot route: " + Failures.describe(e));
        }
    }

    /**
     * Embeds the buffered prompts in one MiniLM call. Should that call fail, each prompt is embedded
     * on its own, so only a prompt that fails alone is refused and the rest are routed.
     */
    private void flush() {
        if (buffer.isEmpty()) return;
        List<PromptTask> batch = new ArrayList<>(buffer);
        buffer.clear();
        long t0 = System.nanoTime();
        float[][] emb = null;
        try {
            emb = embedder.embed(batch.stream().map(PromptTask::text).toList());
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
        }
        double ms = (System.nanoTime() - t0) / 1e6 / batch.size();
        for (int i = 0; i < batch.size(); i++) {
            PromptTask t = batch.get(i);
            try {
                float[] e = emb != null ? emb[i] : embedder.embed(List.of(t.text()))[0];
                emit(t, bank.tree().route(e).toString(), ms);
            } catch (Throwable e) {
                Failures.rethrowIfFatal(e);
                refuse(t, "cannot route: " + Failures.describe(e));
            }
        }
    }

    private void refuse(PromptTask t, String problem) {
        ValidatePromptFunction.refuse(t, "route", problem, config.limits(), deadLetters, this::side);
    }

    private <X> void side(OutputTag<X> tag, X value) {
        output.collect(tag, new StreamRecord<>(value));
    }

    private void emit(PromptTask t, String path, double routeMs) {
        output.collect(new StreamRecord<>(t.withRoute(path, routeMs)));
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flush();  // nothing buffered across a barrier: routing needs no checkpointed state
    }

    @Override
    public void endInput() {
        flush();
    }

    @Override
    public void close() throws Exception {
        if (embedder != null) embedder.close();
        if (bank != null) bank.close();
        super.close();
    }
}
