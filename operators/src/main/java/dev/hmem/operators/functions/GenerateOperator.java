package dev.hmem.operators.functions;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.operators.control.ServedVersion;
import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.ServingModel;
import dev.hmem.operators.memory.VersionCheck;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.MemoryBank;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
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
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <p><b>Serving versions.</b> Each prompt carries the version routing chose ({@link ServedVersion}) and is answered by
 * that version's own model and engine ({@link ServedEngine}), so no answer mixes two versions. An activate on the
 * control input starts loading and checking the new version in the background, so it is usually up before routing
 * switches to it; a prompt of a version still loading waits for it (in pending state, like any accepted prompt). An
 * older version is released — engine stopped, anchor and bank freed — once no accepted prompt of it is left. Block
 * commands cut the paths of prompts accepted afterwards (routing may have routed them before the block reached it)
 * and drop the blocked blocks from every cache; a sequence already generating finishes with the memory it had.
 */
public final class GenerateOperator extends AbstractStreamOperator<ResultRecord>
        implements TwoInputStreamOperator<PromptTask, ControlCommand, ResultRecord>, BoundedMultiInput {

    private static final Logger LOG = LoggerFactory.getLogger(GenerateOperator.class);

    /** Streaming prompts' partial results, for the token topic. */
    public static final org.apache.flink.util.OutputTag<dev.hmem.operators.records.PartialResult> PARTIALS =
            new org.apache.flink.util.OutputTag<>("partial-results") {};

    private final ServingConfig config;
    private final GenerationEngine.StepProbe probe;
    private transient MailboxExecutor mailbox;
    private transient Counter deadLetters;
    private transient Counter overloaded;
    private transient Counter versionsReleased;
    private transient Counter partials;
    private transient ListState<PromptTask> pendingState;
    private transient Map<String, PromptTask> pending;  // uid -> accepted, result not emitted (task thread only)
    private transient List<PromptTask> restored;
    private transient ControlPlane control;
    /** Versions this subtask serves, by {@link ServedEngine#key}; the first is the one it opened with. */
    private transient Map<String, ServedEngine> served;
    /** Which version each counted accepted prompt belongs to (uid -> version), until its result is emitted. */
    private transient Map<String, ServedEngine> owners;
    /** The version of the most recently accepted prompt: older versions are released once unused. */
    private transient ServedVersion newestRouted;
    private transient ServedEngine home;
    private transient FlinkEngineMetrics metrics;
    private transient ExecutorService loader;
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
        control = ControlPlane.restore(context, ServedVersion.initial(config.bankDir(), config.modelDir()));
    }

    @Override
    public void open() throws Exception {
        super.open();
        // Set by the operator factory at run time; a test harness of a two-input operator does not, so ask the task.
        if (mailbox == null) mailbox = getContainingTask().getMailboxExecutorFactory().createExecutor(getOperatorConfig().getChainIndex());
        pending = new LinkedHashMap<>();
        served = new java.util.concurrent.ConcurrentHashMap<>();  // gauges read it on a metrics thread
        owners = new java.util.HashMap<>();
        metrics = new FlinkEngineMetrics(getMetricGroup());
        deadLetters = getMetricGroup().counter("deadLetters");
        overloaded = getMetricGroup().counter("overloaded");
        versionsReleased = getMetricGroup().counter("versionsReleased");
        partials = getMetricGroup().counter("partialResults");
        loader = ControlPlane.loaderThread("hmem-version-loader-" + subtask());
        // The version routing used last before a restore (or the command line's) opens now, synchronously, as the
        // job's only version always did: a failure here fails the task.
        ServedVersion active = control.state().active();
        home = new ServedEngine(active);
        home.model = ServingModel.open(config.withModel(active.anchor(), active.bank()));
        checkResultsFit(home.model);
        startEngine(home);
        served.put(ServedEngine.key(active), home);
        newestRouted = active;
        getMetricGroup().counter("restoredPrompts").inc(restored.size());
        getMetricGroup().gauge("poisonedPrompts", (Gauge<Long>) () -> sum(e -> e.poisoned()));
        getMetricGroup().gauge("queued", (Gauge<Long>) () -> sum(e -> e.queued()));
        getMetricGroup().gauge("runningBatch", (Gauge<Long>) () -> sum(e -> e.batchRows()));
        getMetricGroup().gauge("pending", (Gauge<Integer>) () -> pending.size());
        getMetricGroup().gauge("versionsLoaded", (Gauge<Integer>) this::versionsLoaded);
        if (home.engine.cache() != null) {
            getMetricGroup().addGroup("cache").gauge("bytes", (Gauge<Long>) () -> sum(e -> e.cache() == null ? 0 : e.cache().cachedBytes()));
            getMetricGroup().addGroup("cache").gauge("pinnedBytes", (Gauge<Long>) () -> sum(e -> e.cache() == null ? 0 : e.cache().pinnedBytes()));
            // What the budget bounds: every evictable block in memory, cached or held by prompts after its eviction.
            getMetricGroup().addGroup("cache").gauge("liveBytes", (Gauge<Long>) () -> sum(e -> e.cache() == null ? 0 : e.cache().liveBytes()));
            getMetricGroup().addGroup("cache").gauge("inUseBytes", (Gauge<Long>) () -> sum(e -> e.cache() == null ? 0 : e.cache().inUseBytes()));
        }
        if (control.state().loading() != null) preload(control.state().loading(), control.state().loadingRequest());
        scheduleIdleCheck();
        for (PromptTask t : restored) accept(t);
        restored = null;
    }

    /** Versions loaded or loading on this subtask now; a refused one holds nothing and is not counted. */
    int versionsLoaded() {
        return (int) served.values().stream().filter(s -> s.failure == null).count();
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    /** A sum over the engines that are up (gauges are read on a metrics thread: a snapshot of the map). */
    private long sum(java.util.function.ToLongFunction<GenerationEngine> f) {
        long n = 0;
        for (ServedEngine s : List.copyOf(served.values())) {
            GenerationEngine e = s.engine;
            if (e != null) n += f.applyAsLong(e);
        }
        return n;
    }

    private String anchorFingerprint() {
        return home.model.anchor().fingerprint();
    }

    @Override
    public void processElement1(StreamRecord<PromptTask> element) throws Exception {
        PromptTask t = element.getValue();
        if (System.currentTimeMillis() > t.deadlineAt()) {
            // Queued in front of this operator past its deadline: an explicit answer now, not a late one.
            overloaded.inc();
            output.collect(new StreamRecord<>(served(t, ResultRecord.refusal(t.id(), "overloaded", "overloaded: not started within "
                    + (t.deadlineAt() - t.createdAt()) + " ms of its creation", t.client(), t.createdAt(), anchorFingerprint()))));
            return;
        }
        if (engineFailure == null && pending.size() >= config.maxQueued() && config.shedWhenFull()) {
            overloaded.inc();
            output.collect(new StreamRecord<>(served(t, ResultRecord.refusal(t.id(), "overloaded", "overloaded: this generate subtask "
                    + "already holds " + pending.size() + " prompts (--max-queued)", t.client(), t.createdAt(),
                    anchorFingerprint()))));
            return;
        }
        while (engineFailure == null && pending.size() >= config.maxQueued()) {
            checkHealthy();
            mailbox.yield();  // run result mails until there is room: back-pressure upstream
        }
        accept(t);
    }

    private static ResultRecord served(PromptTask t, ResultRecord r) {
        return r.servedFor(t);
    }

    private void accept(PromptTask routed) {
        // Routing may have routed it before a block command reached it: the block list applies here too.
        PromptTask t = routed.withBlocks(control.state().blocked());
        pending.put(t.uid(), t);
        if (t.engineFailures() >= config.maxEngineFailures()) {
            String why = "generation failed the whole engine " + t.engineFailures() + " times with this prompt in the batch";
            mailbox.execute(() -> emit(t.uid(), served(t, ResultRecord.error(t.id(), why, t.client(), t.createdAt(),
                    anchorFingerprint())), DeadLetterRecord.of(t, "generate", why, config.limits())), "emit given-up prompt");
            return;
        }
        ServedEngine s = servedFor(t);
        s.inUse++;
        owners.put(t.uid(), s);
        if (t.version() != null && t.version().seq() > newestRouted.seq()) {
            newestRouted = t.version();
            releaseUnused();
        }
        if (engineFailure != null) return;  // after a failure, kept for the checkpoint the restart resumes from
        if (s.engine != null) {
            s.engine.submit(t);
        } else if (s.failure != null) {
            answerUnavailable(t, s);
        } else {
            s.waiting.add(t);
        }
    }

    /** The version {@code t} is answered with, loading it if this subtask has not yet (routing may be ahead of the control input). */
    private ServedEngine servedFor(PromptTask t) {
        if (t.version() == null) return home;  // from a checkpoint of a job without serving versions
        ServedEngine s = served.get(ServedEngine.key(t.version()));
        return s != null ? s : preload(t.version(), null);
    }

    private void answerUnavailable(PromptTask t, ServedEngine s) {
        String why = "serving version " + s.version.label() + " cannot be loaded on this subtask: " + s.failure;
        mailbox.execute(() -> emit(t.uid(), served(t, ResultRecord.error(t.id(), RecordLimits.error(why), t.client(),
                t.createdAt(), anchorFingerprint())), DeadLetterRecord.of(t, "generate", why, config.limits())),
                "emit prompt of an unloadable version");
    }

    /** A control command: applied in topic order, each once (a replay after a restore is skipped). */
    @Override
    public void processElement2(StreamRecord<ControlCommand> element) throws Exception {
        ControlCommand c = element.getValue();
        if (!control.isNew(c)) return;
        control.apply(c);
        switch (c.kind()) {
            case ACTIVATE -> {
                ServedVersion v = control.state().loading();
                ServedEngine s = served.get(ServedEngine.key(v));
                if (s == null) {
                    preload(v, c.requestId());
                } else {
                    s.requestId = c.requestId();
                    if (!s.isLoading()) report(s, s.failure == null ? "ready" : "refused", s.failure);
                }
                releaseUnused();  // a preloaded version that a newer activate replaced, if nothing used it
            }
            case BLOCK, UNBLOCK -> {
                int dropped = 0;
                for (ServedEngine s : served.values()) {
                    if (s.engine != null && s.engine.cache() != null) {
                        dropped += s.engine.cache().evict(id -> control.state().blocked().blocks(id.toString()));
                    }
                }
                output.collect(ControlStatus.TAG, new StreamRecord<>(ControlStatus.of(c, "generate", subtask(), parallelism(),
                        "applied", null, c.kind().wireName() + " " + c.paths() + "; blocked now: "
                                + control.state().blocked().paths() + "; " + dropped + " cached blocks dropped")));
            }
            case INVALID -> { }  // routing reports it
        }
    }

    private int parallelism() {
        return getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    }

    /** Starts loading {@code v} on the loader thread; prompts of it wait until it is up. */
    private ServedEngine preload(ServedVersion v, String requestId) {
        ServedEngine s = new ServedEngine(v);
        s.requestId = requestId;
        served.put(ServedEngine.key(v), s);
        ServingConfig vc = config.withModel(v.anchor(), v.bank());
        loader.execute(() -> {
            ServingModel m = null;
            String failure = null;
            try {
                VersionCheck.check(v);
                m = ServingModel.open(vc);
                checkResultsFit(m);
            } catch (Throwable e) {
                Failures.rethrowIfFatal(e);
                failure = Failures.describe(e);
                if (m != null) {
                    try {
                        m.close();
                    } catch (Exception ignored) {
                        // the load failed already; this is cleanup
                    }
                    m = null;
                }
            }
            ServingModel model = m;
            String why = failure;
            mailbox.execute(() -> loaded(s, model, why), "version " + v.label() + " loaded");
        });
        return s;
    }

    private void loaded(ServedEngine s, ServingModel model, String failure) throws Exception {
        if (served.get(ServedEngine.key(s.version)) != s) {  // released before it was up
            if (model != null) model.close();
            return;
        }
        if (failure != null) {
            control.refused(s.version);
            s.failure = failure;
            LOG.warn("version {} ({}) refused on generate subtask {}: {}", s.version.label(), s.version.bank(), subtask(), failure);
            for (PromptTask t : s.waiting) answerUnavailable(t, s);
        } else {
            s.model = model;
            s.idleSince = System.currentTimeMillis();
            control.activated(s.version);  // a restore opens it first
            startEngine(s);
            LOG.info("version {} ({}) ready on generate subtask {}", s.version.label(), s.version.bank(), subtask());
            if (engineFailure == null) for (PromptTask t : s.waiting) s.engine.submit(t);
        }
        s.waiting.clear();
        report(s, failure == null ? "ready" : "refused", failure);
        releaseUnused();
    }

    private void startEngine(ServedEngine s) {
        s.engine = s.model.engine(metrics, new EngineListener(s), probe, "hmem-generate-" + subtask()
                + (s == home ? "" : "-" + s.version.label()));
        s.engine.start();
    }

    private void report(ServedEngine s, String state, String detail) {
        if (s.requestId == null) return;  // nobody asked: a prompt named it before its command arrived
        output.collect(ControlStatus.TAG, new StreamRecord<>(new ControlStatus(s.requestId, "activate", "generate",
                subtask(), parallelism(), state, s.version.label(), detail, System.currentTimeMillis())));
    }

    /**
     * An older version idle this long while a newer one is up here is released even though no prompt of the newer
     * one has arrived (routing sends this subtask nothing of it, or nothing at all): holding it longer costs memory,
     * releasing it sooner risks reloading it for a prompt routing still sends with it.
     */
    static final long IDLE_RELEASE_MS = 10_000;

    /** Re-checks idle versions now and then (a subtask without input would otherwise never release one). */
    private void scheduleIdleCheck() {
        long at = getProcessingTimeService().getCurrentProcessingTime() + IDLE_RELEASE_MS / 2;
        getProcessingTimeService().registerTimer(at, ts -> {
            releaseUnused();
            scheduleIdleCheck();
        });
    }

    /**
     * Releases every version older than the newest one routed here that no accepted prompt needs, every older one
     * idle for {@link #IDLE_RELEASE_MS} while a newer one is up, and every version a newer activate replaced before any
     * prompt used it.
     */
    private void releaseUnused() {
        ServedVersion loading = control.state().loading();
        long now = System.currentTimeMillis();
        long newestUp = Long.MIN_VALUE;
        for (ServedEngine s : served.values()) if (s.engine != null) newestUp = Math.max(newestUp, s.version.seq());
        for (var it = served.values().iterator(); it.hasNext(); ) {
            ServedEngine s = it.next();
            if (s.inUse > 0 || !s.waiting.isEmpty()) continue;
            if (s.model != null && served.values().stream().filter(o -> o.model != null).count() == 1) continue;  // the last one up
            boolean older = s.version.seq() < newestRouted.seq()
                    || (s.version.seq() < newestUp && now - s.idleSince >= IDLE_RELEASE_MS);
            boolean replaced = s.version.seq() > newestRouted.seq() && !s.version.sameAs(loading)
                    && (loading != null ? s.version.seq() < loading.seq() : s.version.seq() < control.state().lastSeq());
            if (!older && !replaced) continue;
            if (s.isLoading()) {
                it.remove();  // its load's result is dropped when it arrives
                continue;
            }
            it.remove();
            if (s == home) home = null;
            try {
                s.close();
            } catch (Exception e) {
                LOG.warn("releasing version {}: {}", s.version.label(), Failures.describe(e));
            }
            versionsReleased.inc();
            LOG.info("version {} released on generate subtask {}", s.version.label(), subtask());
            if (s.requestId != null) report(s, "released", null);
        }
        if (home == null) {
            // The anchor fingerprint of refusals comes from the newest version up.
            for (ServedEngine s : served.values()) if (s.model != null) home = s;
        }
    }

    /**
     * Refuses a version (or, at open, the start) when the largest result these limits allow would not fit in a Kafka
     * message: a result that cannot be written would fail the sink, and the job with it, on every replay.
     */
    private void checkResultsFit(ServingModel model) {
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

    private void checkHealthy() {
        for (ServedEngine s : served.values()) if (s.engine != null) s.engine.checkHealthy();
    }

    /** One version's engine reports, moved onto the task thread through its mailbox. */
    private final class EngineListener implements GenerationEngine.Listener {
        private final ServedEngine served;

        EngineListener(ServedEngine served) {
            this.served = served;
        }

        @Override
        public void result(String uid, ResultRecord r) {
            mailbox.execute(() -> emit(uid, r, null), "emit result");
        }

        @Override
        public void poisoned(PromptTask t, String error) {
            ResultRecord r = GenerateOperator.served(t, ResultRecord.error(t.id(), RecordLimits.error(error), t.client(),
                    t.createdAt(), served.model.anchor().fingerprint()));
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
        public void partial(PromptTask t, dev.hmem.operators.records.PartialResult p) {
            mailbox.execute(() -> {
                if (!pending.containsKey(t.uid())) return;  // from a generation before a restore
                partials.inc();
                output.collect(PARTIALS, new StreamRecord<>(p));
            }, "emit partial result");
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
        PromptTask t = pending.remove(uid);
        if (t == null) return;
        output.collect(new StreamRecord<>(r));
        if (dead != null) {
            deadLetters.inc();
            output.collect(DecodePromptFunction.DEAD_LETTERS, new StreamRecord<>(dead));
        }
        ServedEngine s = owners.remove(uid);
        if (s != null && --s.inUse == 0) {
            s.idleSince = System.currentTimeMillis();
            releaseUnused();
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        pendingState.update(new ArrayList<>(pending.values()));
        control.snapshot();
        if (engineFailure != null && failAfterCheckpoint == Long.MAX_VALUE) failAfterCheckpoint = context.getCheckpointId();
    }

    @Override
    public void endInput(int inputId) throws Exception {
        if (inputId == 1) drain();
    }

    @Override
    public void finish() throws Exception {
        drain();
        super.finish();
    }

    private void drain() throws InterruptedException {
        while (!pending.isEmpty()) {
            if (engineFailure != null) throw engineFailure;
            checkHealthy();
            mailbox.yield();
        }
    }

    /** The loader first, then each version's engine fully stopped: only then are the bank and anchor it reads freed. */
    @Override
    public void close() throws Exception {
        try {
            if (loader != null) ControlPlane.stop(loader);
        } finally {
            loader = null;
            try {
                if (served != null) {
                    for (ServedEngine s : served.values()) {
                        try {
                            s.close();
                        } catch (Exception e) {
                            LOG.warn("closing version {}: {}", s.version.label(), Failures.describe(e));
                        }
                    }
                    served.clear();
                }
            } finally {
                super.close();
            }
        }
    }
}
