package dev.hmem.operators.functions;

import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.ServingModel;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.MemoryBank;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.metrics.Counter;
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
 * At most {@code maxQueued} prompts are outstanding: one more is answered "overloaded" at once (or, with
 * {@code --when-full wait}, input waits and back-pressure reaches the Kafka source), so memory never fills up. A prompt the engine cannot generate even alone
 * is answered with an error result and sent to the dead letters (stage "generate", without its
 * raw bytes, which routing dropped: its topic, partition and offset locate it).
 *
 * <p>When the engine itself breaks (a canary generation fails too), the prompts of the batch that broke it are
 * charged one engine failure each, and the task fails only once a checkpoint holding those counts has completed
 * (meanwhile input is kept in pending state, not generated), so that a prompt that breaks the engine every time is
 * answered with an error after {@code --max-engine-failures} restarts instead of failing the job until its restart
 * budget is gone. A prompt that arrives past its deadline is answered "overloaded" at once.
 */
public final class GenerateOperator extends AbstractStreamOperator<ResultRecord>
        implements OneInputStreamOperator<PromptTask, ResultRecord>, BoundedOneInput {

    private final ServingConfig config;
    private final GenerationEngine.StepProbe probe;
    private transient MailboxExecutor mailbox;
    private transient Counter deadLetters;
    private transient Counter overloaded;
    private transient ListState<PromptTask> pendingState;
    private transient Map<String, PromptTask> pending;  // uid -> accepted, result not emitted (task thread only)
    private transient List<PromptTask> restored;
    private transient ServingModel model;
    private transient GenerationEngine engine;
    /** Set when the engine broke; the task fails once a checkpoint taken after it has completed. */
    private transient IllegalStateException engineFailure;
    private transient long failAfterCheckpoint;

    public GenerateOperator(ServingConfig config) {
        this(config, GenerationEngine.StepProbe.NONE);
    }

    /** With a probe that runs before every generation step (tests inject faults and hold the engine with it). */
    public GenerateOperator(ServingConfig config, GenerationEngine.StepProbe probe) {
        this.config = config;
        this.probe = probe;
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
        pending = new LinkedHashMap<>();
        model = ServingModel.open(config);
        checkResultsFit();
        FlinkEngineMetrics metrics = new FlinkEngineMetrics(getMetricGroup());
        deadLetters = getMetricGroup().counter("deadLetters");
        overloaded = getMetricGroup().counter("overloaded");
        engine = model.engine(metrics, new EngineListener(), probe,
                "hmem-generate-" + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        getMetricGroup().counter("restoredPrompts").inc(restored.size());
        getMetricGroup().gauge("poisonedPrompts", (Gauge<Long>) engine::poisoned);
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
        PromptTask t = element.getValue();
        if (System.currentTimeMillis() > t.deadlineAt()) {
            // Queued in front of this operator past its deadline: an explicit answer now, not a late one.
            overloaded.inc();
            output.collect(new StreamRecord<>(ResultRecord.refusal(t.id(), "overloaded", "overloaded: not started within "
                    + (t.deadlineAt() - t.createdAt()) + " ms of its creation", t.client(), t.createdAt(), model.anchor().fingerprint())));
            return;
        }
        if (engineFailure == null && pending.size() >= config.maxQueued() && config.shedWhenFull()) {
            overloaded.inc();
            output.collect(new StreamRecord<>(ResultRecord.refusal(t.id(), "overloaded", "overloaded: this generate subtask "
                    + "already holds " + pending.size() + " prompts (--max-queued)", t.client(), t.createdAt(),
                    model.anchor().fingerprint())));
            return;
        }
        while (engineFailure == null && pending.size() >= config.maxQueued()) {
            engine.checkHealthy();
            mailbox.yield();  // run result mails until there is room: back-pressure upstream
        }
        accept(t);
    }

    private void accept(PromptTask t) {
        pending.put(t.uid(), t);
        if (t.engineFailures() >= config.maxEngineFailures()) {
            String why = "generation failed the whole engine " + t.engineFailures() + " times with this prompt in the batch";
            mailbox.execute(() -> emit(t.uid(), ResultRecord.error(t.id(), why, t.client(), t.createdAt(),
                    model.anchor().fingerprint()), DeadLetterRecord.of(t, "generate", why, config.limits())), "emit given-up prompt");
            return;
        }
        if (engineFailure == null) engine.submit(t);  // after a failure, kept for the checkpoint the restart resumes from
    }

    /**
     * Refuses to start when the largest result these limits allow would not fit in a Kafka message:
     * a result that cannot be written would fail the sink, and the job with it, on every replay.
     */
    private void checkResultsFit() {
        RecordLimits limits = config.limits();
        Anchor anchor = model.anchor();
        MemoryBank bank = model.bank();
        int versionChars = anchor.fingerprint().length() + 1
                + (bank == null ? 0 : bank.manifest().anchor().fingerprint().length() + bank.manifest().description().length());
        long worst = limits.maxResultBytes(config.maxNewTokensLimit(),
                anchor.tokenizer().maxTokenBytes(anchor.config().vocabSize()), versionChars);
        if (worst > limits.maxMessageBytes()) {
            throw new IllegalArgumentException(String.format("a result may take up to %,d bytes with these limits "
                    + "(max new tokens %d, client map %d bytes, ...) but Kafka messages are limited to %,d bytes: lower "
                    + "--max-new-tokens-limit or raise --max-message-bytes (and the producer's max.request.size)",
                    worst, config.maxNewTokensLimit(), limits.maxClientBytes(), limits.maxMessageBytes()));
        }
    }

    /** The engine's reports, moved onto the task thread through its mailbox. */
    private final class EngineListener implements GenerationEngine.Listener {
        @Override
        public void result(String uid, ResultRecord r) {
            mailbox.execute(() -> emit(uid, r, null), "emit result");
        }

        @Override
        public void poisoned(PromptTask t, String error) {
            ResultRecord r = ResultRecord.error(t.id(), RecordLimits.error(error), t.client(), t.createdAt(), model.anchor().fingerprint());
            DeadLetterRecord d = DeadLetterRecord.of(t, "generate", error, config.limits());
            mailbox.execute(() -> emit(t.uid(), r, d), "emit poisoned prompt");
        }

        @Override
        public void degraded(PromptTask t, String why) {
            DeadLetterRecord d = DeadLetterRecord.of(t, "memory", why, config.limits());
            mailbox.execute(() -> {
                deadLetters.inc();
                output.collect(DecodePromptFunction.DEAD_LETTERS, new StreamRecord<>(d));
            }, "dead-letter a memory fallback");
        }

        @Override
        public void failed(Throwable cause, List<PromptTask> batch) {
            mailbox.execute(() -> engineBroke(cause, batch), "engine failure");
        }
    }

    /**
     * Charges the broken batch's prompts one engine failure each, then fails the task: at once without checkpoints,
     * otherwise after the next checkpoint completes (it records the counts), or after a bound if none does.
     */
    private void engineBroke(Throwable cause, List<PromptTask> batch) {
        for (PromptTask t : batch) pending.computeIfPresent(t.uid(), (k, p) -> p.withEngineFailure());
        engineFailure = new IllegalStateException("generation engine failed: " + cause.getMessage(), cause);
        if (!checkpointing()) throw engineFailure;
        failAfterCheckpoint = Long.MAX_VALUE;  // the next snapshot's id, once taken
        long bound = getProcessingTimeService().getCurrentProcessingTime() + FAIL_WITHOUT_CHECKPOINT_MS;
        getProcessingTimeService().registerTimer(bound, ts -> {
            throw engineFailure;
        });
    }

    /** The longest a broken engine waits for a checkpoint to record its failure counts before failing the task. */
    static final long FAIL_WITHOUT_CHECKPOINT_MS = 60_000;

    /** Whether the job takes periodic checkpoints (without them, nothing would ever record the counts). */
    private boolean checkpointing() {
        return getRuntimeContext().getJobConfiguration().getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL)
                .map(d -> !d.isZero() && !d.isNegative()).orElse(false);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        if (engineFailure != null && checkpointId >= failAfterCheckpoint) throw engineFailure;
    }

    private void emit(String uid, ResultRecord r, DeadLetterRecord dead) {
        // A result for a prompt no longer pending belongs to a generation before a restore: drop it.
        if (pending.remove(uid) == null) return;
        output.collect(new StreamRecord<>(r));
        if (dead != null) {
            deadLetters.inc();
            output.collect(DecodePromptFunction.DEAD_LETTERS, new StreamRecord<>(dead));
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        pendingState.update(new ArrayList<>(pending.values()));
        if (engineFailure != null && failAfterCheckpoint == Long.MAX_VALUE) failAfterCheckpoint = context.getCheckpointId();
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
            if (engineFailure != null) throw engineFailure;
            engine.checkHealthy();
            mailbox.yield();
        }
    }

    /** The engine first, fully stopped: only then are the bank and anchor it reads freed. */
    @Override
    public void close() throws Exception {
        try {
            if (engine != null) engine.close();
        } finally {
            engine = null;
            try {
                if (model != null) model.close();
            } finally {
                model = null;
                super.close();
            }
        }
    }
}
