package dev.hmem.operators.engine;

import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.generate.Completion;
import java.util.Locale;

/**
 * Turns what the generator finished into the results the engine reports: the text with every stage's timing and the
 * cache hits, the model and bank versions that answered, or the error when a prompt's memory could not be loaded.
 * Counts the answered tokens and latencies on the way.
 */
final class Answers {

    private final String modelVersion;
    private final String bankVersion;
    private final EngineMetrics metrics;
    private final GenerationEngine.Listener listener;

    Answers(String modelVersion, MemoryBank bank, EngineMetrics metrics, GenerationEngine.Listener listener) {
        this.modelVersion = modelVersion;
        this.bankVersion = bank == null ? "" : bank.manifest().anchor().fingerprint() + "/" + bank.manifest().description();
        this.metrics = metrics;
        this.listener = listener;
    }

    /** The answer to a prompt the generator completed. */
    void completed(RunningPrompt f, Completion c) {
        metrics.tokens(c.tokens().length);
        listener.result(f.uid(), served(f.pending().task, result(f, c)));
    }

    /** A prompt whose memory path is not in the bank: answered with the reason. */
    void unavailable(PromptTask t, Throwable cause) {
        listener.result(t.uid(), served(t, ResultRecord.error(t.id(), RecordLimits.error("memory " + t.path() + " unavailable: "
                + Failures.describe(cause)), t.client(), t.createdAt(), modelVersion)));
    }

    /** A prompt that waited past its deadline before its generation could start. */
    void overloaded(PendingPrompt p, long nowMs) {
        PromptTask t = p.task;
        metrics.overloaded();
        listener.result(t.uid(), served(t, ResultRecord.refusal(t.id(), "overloaded", RecordLimits.error("overloaded: not started within "
                + (t.deadlineAt() - t.createdAt()) + " ms of its creation (waited " + (nowMs - t.createdAt()) + " ms)"),
                t.client(), t.createdAt(), modelVersion)));
    }

    static ResultRecord served(PromptTask t, ResultRecord r) {
        return r.servedFor(t);
    }

    private ResultRecord result(RunningPrompt f, Completion c) {
        PendingPrompt p = f.pending();
        PromptTask t = p.task;
        long now = System.currentTimeMillis();
        double[] ms = new double[6];
        ms[ResultRecord.QUEUE] = (f.admitNanos() - p.arrivalNanos) / 1e6;
        ms[ResultRecord.ROUTE] = t.routeMs();
        ms[ResultRecord.MEMORY_LOAD] = p.misses == 0 ? 0 : Math.max(0, (p.readyNanos - p.arrivalNanos) / 1e6);
        // The generator's clock starts at submit, which is admission here.
        ms[ResultRecord.FIRST_TOKEN] = c.firstTokenNanos() / 1e6;
        ms[ResultRecord.GENERATE] = c.totalNanos() / 1e6;
        ms[ResultRecord.END_TO_END] = Math.max(0, now - t.createdAt());
        metrics.firstToken(ms[ResultRecord.FIRST_TOKEN] + ms[ResultRecord.QUEUE]);
        metrics.endToEnd(ms[ResultRecord.END_TO_END]);
        return new ResultRecord(t.id(), c.text(), c.promptTokens(), c.tokens(), c.memoryLabel(),
                c.finishReason().name().toLowerCase(Locale.ROOT), modelVersion, bankVersion, ms,
                f.hits(), p.misses, null, t.client(), t.createdAt(), now, f.fallback(), null, null);
    }
}
