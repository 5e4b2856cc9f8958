package dev.hmem.operators.functions;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlState;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.operators.control.ServedVersion;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.SharedBanks;
import dev.hmem.operators.memory.VersionCheck;
import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.router.MiniLmEmbedder;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes prompts to their memory path. Prompts are embedded in batches (up to
 * {@code routeBatch}, or whatever arrived within {@code routeTimeoutMs}), since MiniLM costs little
 * more for 32 sentences than for one; the batch is flushed before every checkpoint barrier, so
 * the prompts need no state. Which generate subtask serves the path is the job's partitioner's
 * choice ({@link dev.hmem.operators.routing.AffinityPartitioner}). A forced path that is not in the tree, or a prompt that cannot be embedded, is dead-lettered (with
 * an error result for the client); the others flow on.
 *
 * <p>The second input is the control topic, broadcast: this is where a prompt's serving version is decided. An
 * activate is checked in the background ({@link VersionCheck}) while prompts keep being routed with the serving
 * version; once it passes, every prompt routed from then on carries the new version (and is routed with its tree),
 * and each generate subtask answers it with that version alone. A version that fails is refused on the status topic
 * and the old one keeps serving. Block commands cut the paths of the prompts routed after them. The version and the
 * block list are broadcast state: a restore or rescale resumes with them.
 */
public final class RouteOperator extends AbstractStreamOperator<PromptTask>
        implements TwoInputStreamOperator<PromptTask, ControlCommand, PromptTask>, BoundedMultiInput {

    private static final Logger LOG = LoggerFactory.getLogger(RouteOperator.class);

    private final ServingConfig config;
    /** The serving version's bank, shared with every routing and generating subtask of this JVM (one tree in memory). */
    private transient SharedBanks.Lease bank;
    private transient MiniLmEmbedder embedder;
    private transient List<PromptTask> buffer;
    private transient boolean timerSet;
    private transient Counter deadLetters;
    private transient ControlPlane control;
    private transient MailboxExecutor mailbox;
    private transient java.util.concurrent.ExecutorService checker;

    public RouteOperator(ServingConfig config) {
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
        control = ControlPlane.restore(context, ServedVersion.initial(config.bankDir(), config.modelDir()));
    }

    @Override
    public void open() throws Exception {
        super.open();
        // Set by the operator factory at run time; a test harness of a two-input operator does not, so ask the task.
        if (mailbox == null) mailbox = getContainingTask().getMailboxExecutorFactory().createExecutor(getOperatorConfig().getChainIndex());
        buffer = new ArrayList<>();
        deadLetters = getMetricGroup().counter("deadLetters");
        checker = ControlPlane.loaderThread("hmem-route-check-" + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        // A restored version was checked when it was activated; its blocks are verified again as they are read.
        ServedVersion active = control.state().active();
        if (active.bank() != null) {
            bank = SharedBanks.acquire(active.bank());
            embedder = MiniLmEmbedder.load(1);
        }
        if (control.state().loading() != null) check(control.state().loading(), null);
    }

    @Override
    public void processElement1(StreamRecord<PromptTask> element) {
        PromptTask t = element.getValue();
        try {
            if (bank == null || t.noMemory()) {
                emit(t, "none", 0);
            } else if (t.forcedPath() != null && !t.forcedPath().isEmpty()) {
                emit(t, bank.bank().validate(MemoryPath.parse(t.forcedPath())).toString(), 0);
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

    /** A control command: applied in topic order, each once (a replay after a restore is skipped). */
    @Override
    public void processElement2(StreamRecord<ControlCommand> element) {
        ControlCommand c = element.getValue();
        if (!control.isNew(c)) return;
        control.apply(c);
        switch (c.kind()) {
            case ACTIVATE -> check(control.state().loading(), c);
            case BLOCK, UNBLOCK -> report(c, "applied", null, c.kind().wireName() + " " + c.paths() + "; blocked now: "
                    + control.state().blocked().paths());
            case INVALID -> report(c, "refused", null, c.problem());
        }
    }

    /** Checks {@code v} on the checker thread, then switches to it on the task thread (or refuses it). */
    private void check(ServedVersion v, ControlCommand c) {
        ControlCommand cmd = c != null ? c : ControlCommand.activate(v.seq(), control.state().loadingRequest(), v.label(), v.bank(), v.anchor());
        report(cmd, "loading", v.label(), v.bank());
        checker.execute(() -> {
            SharedBanks.Lease opened = null;
            Throwable failure = null;
            try {
                VersionCheck.check(v);
                opened = SharedBanks.acquire(v.bank());
            } catch (Throwable e) {
                Failures.rethrowIfFatal(e);
                failure = e;
            }
            SharedBanks.Lease result = opened;
            Throwable why = failure;
            mailbox.execute(() -> checked(cmd, v, result, why), "switch to version " + v.label());
        });
    }

    private void checked(ControlCommand c, ServedVersion v, SharedBanks.Lease opened, Throwable failure) throws Exception {
        if (failure != null) {
            LOG.warn("version {} ({}) refused, {} keeps serving: {}", v.label(), v.bank(), control.state().active().label(),
                    Failures.describe(failure));
            control.refused(v);
            report(c, "refused", v.label(), Failures.describe(failure));
            return;
        }
        if (!v.sameAs(control.state().loading())) {  // a newer activate replaced it while it was checked
            opened.close();
            return;
        }
        flush();  // prompts that arrived before the switch are routed with the version they arrived under
        SharedBanks.Lease old = bank;
        bank = opened;
        if (embedder == null) embedder = MiniLmEmbedder.load(1);
        control.activated(v);
        if (old != null) old.close();
        LOG.info("routing with version {} ({}) from now on", v.label(), v.bank());
        report(c, "active", v.label(), v.bank());
    }

    private void report(ControlCommand c, String state, String version, String detail) {
        output.collect(ControlStatus.TAG, new StreamRecord<>(ControlStatus.of(c, "route",
                getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks(), state, version, detail)));
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
                emit(t, bank.bank().tree().route(e).toString(), ms);
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
        output.collect(new StreamRecord<>(t.withRoute(path, routeMs).withVersion(control.state().active())
                .withBlocks(control.state().blocked())));
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flush();  // nothing buffered across a barrier: routing needs no checkpointed state for prompts
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        control.snapshot();
    }

    @Override
    public void endInput(int inputId) {
        if (inputId == 1) flush();
    }

    @Override
    public void close() throws Exception {
        try {
            if (checker != null) ControlPlane.stop(checker);
        } finally {
            if (embedder != null) embedder.close();
            if (bank != null) bank.close();
            super.close();
        }
    }
}
