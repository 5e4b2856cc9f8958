package dev.hmem.operators.engine;

import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.Printable;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.SamplingParams;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the engine does after a generation step failed: the prompts of the discarded generator are retried once
 * together, then bisected ({@link FaultIsolation}) until a prompt that fails alone is found; that one is poisoned
 * (answered with an error and dead-lettered), every other one answered normally. Before a prompt is poisoned, a
 * one-token canary without memory must pass: if even that fails, the engine itself is broken, not the prompt.
 */
final class StepRecovery {

    private static final Logger LOG = LoggerFactory.getLogger(StepRecovery.class);

    private final Supplier<BatchGenerator> generators;
    private final GenerationEngine.StepProbe probe;
    private final Answers answers;
    private final GenerationEngine.Listener listener;
    private final BooleanSupplier running;
    private final int canaryToken;
    private volatile long poisoned;  // written by the engine thread, read by a metric

    StepRecovery(Supplier<BatchGenerator> generators, GenerationEngine.StepProbe probe, Answers answers,
                 GenerationEngine.Listener listener, BooleanSupplier running, int canaryToken) {
        this.generators = generators;
        this.probe = probe;
        this.answers = answers;
        this.listener = listener;
        this.running = running;
        this.canaryToken = canaryToken;
    }

    /** Prompts answered with an error because generation failed on them alone. */
    long poisoned() {
        return poisoned;
    }

    /**
     * After a failed step: the generator is gone, and each prompt's blocks are held (retained once) by the caller
     * for the retries; they are released here. Stops early, leaving the rest pending, when the engine stops.
     */
    void recover(List<RunningPrompt> suspects, Throwable cause) {
        LOG.warn("a generation step failed with {} prompts in the batch; retrying them, then isolating the cause",
                suspects.size(), cause);
        Set<RunningPrompt> held = new HashSet<>(suspects);
        int runs = FaultIsolation.isolate(suspects, group -> runAlone(group, held), (f, why) -> {
            held.remove(f);
            RunningPrompt.release(f.blocks());
            poison(f.pending().task, "generation failed on this prompt (also when run alone): " + Failures.describe(why));
        }, running);
        for (RunningPrompt f : held) RunningPrompt.release(f.blocks());  // shutdown came first: they stay pending in Flink state
        LOG.info("fault isolation finished after {} runs", runs);
    }

    /** Answers {@code t} with {@code error} and reports it for the dead letters, once the canary shows the engine works. */
    void poison(PromptTask t, String error) {
        poisoned++;
        LOG.warn("prompt {} ({}) poisoned: {}", Printable.escape(t.id()), t.uid(), Printable.escape(error));
        checkCanary();
        listener.poisoned(t, error);
    }

    /**
     * A one-token generation without memory: if even that fails, the fault is in the engine (a broken native library,
     * exhausted native memory), not in the prompt, and the subtask must fail.
     */
    private void checkCanary() {
        try (BatchGenerator g = generators.get()) {
            g.submit(GenerationRequest.plain("canary", new int[] {canaryToken}, SamplingParams.greedy(1)));
            while (!g.isIdle()) {
                probe.beforeStep(Set.of("canary"));
                g.step();
            }
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            throw new IllegalStateException("the generation engine is broken: a one-token canary failed too", e);
        }
    }

    /** Runs {@code group} to completion in a fresh generator, answering each prompt as it finishes. */
    private FaultIsolation.Outcome<RunningPrompt> runAlone(List<RunningPrompt> group, Set<RunningPrompt> held) {
        Map<String, RunningPrompt> left = new LinkedHashMap<>();
        BatchGenerator g = null;
        try {
            g = generators.get();
            for (RunningPrompt f : group) {
                RunningPrompt.retain(f.blocks());  // the generator's own hold, released when it ends
                left.put(f.uid(), f);
                g.submit(f.request());
            }
            while (!g.isIdle() && running.getAsBoolean()) {
                probe.beforeStep(left.keySet());
                for (Completion c : g.step()) {
                    RunningPrompt f = left.remove(c.id());
                    held.remove(f);
                    RunningPrompt.release(f.blocks());
                    answers.completed(f, c);
                }
            }
            discard(g);
            return FaultIsolation.Outcome.done();
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            if (g != null) discard(g);
            return new FaultIsolation.Outcome<>(new ArrayList<>(left.values()), e);
        }
    }

    /** Closes a generator that may be in any state; it releases the blocks of its sequences. */
    static void discard(BatchGenerator g) {
        try {
            g.close();
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            LOG.warn("discarding a failed generator left resources behind", e);
        }
    }
}
