package dev.hmem.operators.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

/**
 * Finds the prompts that break generation. A batch whose step failed is run again as it was (the
 * failure may have been passing); if it fails again, whatever had not finished is split in halves
 * and each half run on its own, recursively, until a prompt that fails alone is left — that one is
 * poisoned, every other prompt is answered. Members that finish during a run that later fails are
 * already answered and drop out, so one culprit in a batch of n costs about 2·log2(n) runs. A prompt
 * is poisoned only after failing in a run of its own. Pure
 * logic over a {@link Runner}; the engine supplies one that runs a fresh generator.
 */
final class FaultIsolation {

    private FaultIsolation() {}

    /** Runs a group of prompts to completion, answering each as it finishes. */
    interface Runner<T> {
        /** The members that had not finished when the run failed, and why; {@link Outcome#DONE} if none failed. */
        Outcome<T> run(List<T> group);
    }

    /** What a run left unfinished, and the failure that stopped it. */
    record Outcome<T>(List<T> unfinished, Throwable failure) {
        static <T> Outcome<T> done() {
            return new Outcome<>(List.of(), null);
        }

        boolean failed() {
            return failure != null;
        }
    }

    /**
     * Retries {@code suspects} once together, then bisects what fails. {@code poison} gets each
     * prompt that failed alone with its failure. Stops early (leaving the rest unanswered) when
     * {@code running} turns false.
     *
     * @return the runs made
     */
    static <T> int isolate(List<T> suspects, Runner<T> runner, BiConsumer<T, Throwable> poison, BooleanSupplier running) {
        Deque<List<T>> work = new ArrayDeque<>();
        work.push(new ArrayList<>(suspects));
        int runs = 0;
        while (!work.isEmpty() && running.getAsBoolean()) {
            List<T> group = work.pop();
            if (group.isEmpty()) continue;
            Outcome<T> o = runner.run(group);
            runs++;
            if (!o.failed() || o.unfinished().isEmpty()) continue;
            List<T> left = o.unfinished();
            if (group.size() == 1) {
                poison.accept(left.get(0), o.failure());
            } else if (left.size() == 1) {
                work.push(left);  // left over from a shared run: it is judged only by a run of its own
            } else {
                int half = left.size() / 2;
                work.push(new ArrayList<>(left.subList(half, left.size())));
                work.push(new ArrayList<>(left.subList(0, half)));
            }
        }
        return runs;
    }
}
