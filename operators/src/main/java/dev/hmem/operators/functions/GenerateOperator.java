package dev.hmem.operators.functions;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import dev.hmem.model.anchor.Anchor;
import dev.hmem.model.memory.MemoryBank;
import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.BankStores;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Generates answers for the prompts routed to this subtask. The work happens in a
 * {@link GenerationEngine} on its own thread; this operator hands prompts in, emits results
 * through the task's mailbox, and keeps every accepted prompt that has no emitted result yet in
 * checkpointed state — like Flink's async I/O operator — so after a failure those prompts are
 * generated again and, with the transactional sink, each result is published exactly once.
 * When more than {@code maxQueued} prompts are outstanding, input waits: back-pressure reaches
 * the Kafka source instead of memory filling up.
 */
public final class GenerateOperator extends AbstractStreamOperator<ResultRecord>
        implements OneInputStreamOperator<PromptTask, ResultRecord>, BoundedOneInput {

    private final ServingConfig config;
    private transient MailboxExecutor mailbox;
    private transient ListState<PromptTask> pendingState;
    private transient Map<String, PromptTask> pending;  // uid -> accepted, result not emitted (task thread only)
    private transient List<PromptTask> restored;
    private transient Anchor anchor;
    private transient MemoryBank bank;
    private transient GenerationEngine engine;

    public GenerateOperator(ServingConfig config) {
        this.config = config;
    }

    @Override
    public void setMailboxExecutor(MailboxExecutor mailboxExecutor) {
        super.setMailboxExecutor(mailboxExecutor);
        this.mailbox = mailboxExecutor;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        pendingState = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>("pending-prompts", TypeInformation.of(PromptTask.class)));
        restored = new ArrayList<>();
        if (context.isRestored()) {
            for (PromptTask t : pendingState.get()) restored.add(t);
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(config.torchThreads());
        pending = new LinkedHashMap<>();
        anchor = Anchor.load(Path.of(config.modelDir()));
        if (config.bankDir() != null) {
            bank = BankStores.open(config.bankDir());
            bank.checkAnchor(anchor.weights());
        }
        FlinkEngineMetrics metrics = new FlinkEngineMetrics(getMetricGroup());
        // An engine failure fails the task through its mailbox, so nothing waits on a dead engine.
        engine = new GenerationEngine(config, bank, anchor, metrics, this::fromEngine,
                t -> mailbox.execute(() -> {
                    throw new IllegalStateException("generation engine failed: " + t.getMessage(), t);
                }, "engine failure"),
                "hmem-generate-" + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        getMetricGroup().gauge("queued", (Gauge<Integer>) engine::queued);
        getMetricGroup().gauge("runningBatch", (Gauge<Integer>) engine::batchRows);
        getMetricGroup().gauge("pending", (Gauge<Integer>) () -> pending.size());
        if (engine.cache() != null) {
            getMetricGroup().addGroup("cache").gauge("bytes", (Gauge<Long>) engine.cache()::cachedBytes);
            getMetricGroup().addGroup("cache").gauge("pinnedBytes", (Gauge<Long>) engine.cache()::pinnedBytes);
        }
        engine.start();
        for (PromptTask t : restored) accept(t);
        restored = null;
    }

    @Override
    public void processElement(StreamRecord<PromptTask> element) throws Exception {
        while (pending.size() >= config.maxQueued()) {
            engine.checkHealthy();
            mailbox.yield();  // run result mails until there is room: back-pressure upstream
        }
        accept(element.getValue());
    }

    private void accept(PromptTask t) {
        pending.put(t.uid(), t);
        engine.submit(t);
    }

    /** Called on the engine thread: the result is emitted on the task thread. */
    private void fromEngine(String uid, ResultRecord r) {
        mailbox.execute(() -> emit(uid, r), "emit result");
    }

    private void emit(String uid, ResultRecord r) {
        // A result for a prompt no longer pending belongs to a generation before a restore: drop it.
        if (pending.remove(uid) != null) output.collect(new StreamRecord<>(r));
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        pendingState.update(new ArrayList<>(pending.values()));
    }

    @Override
    public void endInput() throws Exception {
        drain();
    }

    @Override
    public void finish() throws Exception {
        drain();
        super.finish();
    }

    private void drain() throws InterruptedException {
        while (!pending.isEmpty()) {
            engine.checkHealthy();
            mailbox.yield();
        }
    }

    @Override
    public void close() throws Exception {
        if (engine != null) engine.close();
        if (bank != null) bank.close();
        if (anchor != null) anchor.close();
        super.close();
    }
}
