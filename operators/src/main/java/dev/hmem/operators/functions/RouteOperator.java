package dev.hmem.operators.functions;

import dev.hmem.model.memory.MemoryBank;
import dev.hmem.model.memory.MemoryPath;
import dev.hmem.model.router.MiniLmEmbedder;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.BankStores;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.operators.routing.SubtaskAffinity;
import dev.hmem.operators.routing.SubtaskKeys;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Routes prompts to their memory path and picks the generate subtask for each. Prompts are
 * embedded in batches (up to {@code routeBatch}, or whatever arrived within {@code routeTimeoutMs}),
 * since MiniLM costs little more for 32 sentences than for one; the batch is flushed before every
 * checkpoint barrier, so routing holds no state. Placement follows the path's level-1 cluster with
 * bounded-load spill-over ({@link SubtaskAffinity}), or round-robin for the naive baseline. A
 * forced path that is not in the tree is dead-lettered (with an error result for the client).
 */
public final class RouteOperator extends AbstractStreamOperator<PromptTask>
        implements OneInputStreamOperator<PromptTask, PromptTask>, BoundedOneInput {

    private final ServingConfig config;
    private transient MemoryBank bank;
    private transient MiniLmEmbedder embedder;
    private transient SubtaskAffinity affinity;
    private transient int[] keys;
    private transient List<PromptTask> buffer;
    private transient boolean timerSet;
    private transient long roundRobin;

    public RouteOperator(ServingConfig config) {
        this.config = config;
    }

    @Override
    public void open() throws Exception {
        super.open();
        buffer = new ArrayList<>();
        keys = SubtaskKeys.forParallelism(config.generateParallelism(), config.maxParallelism());
        affinity = new SubtaskAffinity(config.generateParallelism(), 1.25, 256);
        if (config.bankDir() != null) {
            bank = BankStores.open(config.bankDir());
            embedder = MiniLmEmbedder.load(1);
        }
    }

    @Override
    public void processElement(StreamRecord<PromptTask> element) {
        PromptTask t = element.getValue();
        if (bank == null || t.noMemory()) {
            emit(t, "none", 0);
        } else if (t.forcedPath() != null && !t.forcedPath().isEmpty()) {
            try {
                emit(t, bank.validate(MemoryPath.parse(t.forcedPath())).toString(), 0);
            } catch (IllegalArgumentException e) {
                RawRecord raw = new RawRecord(t.raw(), t.topic(), t.partition(), t.offset(), t.createdAt());
                output.collect(DecodePromptFunction.DEAD_LETTERS,
                        new StreamRecord<>(DeadLetterRecord.of(raw, "route", e.getMessage(), t.id())));
                output.collect(ValidatePromptFunction.ERROR_RESULTS,
                        new StreamRecord<>(ResultRecord.error(t.id(), e.getMessage(), t.client(), t.createdAt(), "")));
            }
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
    }

    private void flush() {
        if (buffer.isEmpty()) return;
        long t0 = System.nanoTime();
        List<String> texts = new ArrayList<>(buffer.size());
        for (PromptTask t : buffer) texts.add(t.text());
        float[][] emb = embedder.embed(texts);
        double ms = (System.nanoTime() - t0) / 1e6 / buffer.size();
        for (int i = 0; i < buffer.size(); i++) {
            emit(buffer.get(i), bank.tree().route(emb[i]).toString(), ms);
        }
        buffer.clear();
    }

    private void emit(PromptTask t, String path, double routeMs) {
        int subtask;
        if (!config.affinityRouting()) {
            subtask = (int) (roundRobin++ % keys.length);
        } else if (path.equals("none")) {
            subtask = affinity.leastLoaded();
        } else {
            subtask = affinity.assign(path.equals("generic") ? path : MemoryPath.parse(path).prefix(1).toString());
        }
        output.collect(new StreamRecord<>(t.withRoute(path, keys[subtask], routeMs)));
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
