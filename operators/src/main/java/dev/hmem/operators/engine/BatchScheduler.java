package dev.hmem.operators.engine;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Chooses which buffered prompts join the running batch, in the spirit of S-LoRA and vLLM's
 * multi-LoRA scheduling: only prompts whose memory blocks are already loaded (the rest are being
 * prefetched), prompts on a path the batch already runs first (no new memory branch), at most
 * {@code maxPaths} distinct paths in the batch, and anything that has waited longer than
 * {@code maxWaitNanos} ahead of all that so a cold path is never starved. Pure logic, no state.
 */
public final class BatchScheduler {

    /** A buffered prompt as the scheduler sees it. */
    public record Candidate(String path, long arrivalNanos, boolean ready) {}

    private BatchScheduler() {}

    /**
     * Indices into {@code waiting} (which is in arrival order) to admit now.
     *
     * @param runningPaths paths of the sequences in the batch
     * @param freeSlots    how many sequences may join
     */
    public static List<Integer> pick(List<Candidate> waiting, Set<String> runningPaths, int freeSlots, int maxPaths,
                                     long nowNanos, long maxWaitNanos) {
        List<Integer> chosen = new ArrayList<>();
        if (freeSlots <= 0) return chosen;
        Set<String> paths = new HashSet<>(runningPaths);
        boolean[] taken = new boolean[waiting.size()];
        // 1. Starving prompts, whatever their path.
        for (int i = 0; i < waiting.size() && chosen.size() < freeSlots; i++) {
            Candidate c = waiting.get(i);
            if (c.ready() && nowNanos - c.arrivalNanos() >= maxWaitNanos) {
                take(i, c, chosen, taken, paths);
            }
        }
        // 2. Prompts on a path the batch already computes.
        for (int i = 0; i < waiting.size() && chosen.size() < freeSlots; i++) {
            Candidate c = waiting.get(i);
            if (!taken[i] && c.ready() && paths.contains(c.path())) take(i, c, chosen, taken, paths);
        }
        // 3. New paths, oldest first, while the batch has room for another path; once a path is in,
        //    its other prompts follow in pass 2's spirit on the next call.
        for (int i = 0; i < waiting.size() && chosen.size() < freeSlots; i++) {
            Candidate c = waiting.get(i);
            if (taken[i] || !c.ready()) continue;
            if (c.path().equals("none") || paths.contains(c.path()) || countMemoryPaths(paths) < maxPaths) {
                take(i, c, chosen, taken, paths);
                for (int j = i + 1; j < waiting.size() && chosen.size() < freeSlots; j++) {
                    Candidate d = waiting.get(j);
                    if (!taken[j] && d.ready() && d.path().equals(c.path())) take(j, d, chosen, taken, paths);
                }
            }
        }
        chosen.sort(null);
        return chosen;
    }

    private static void take(int i, Candidate c, List<Integer> chosen, boolean[] taken, Set<String> paths) {
        taken[i] = true;
        chosen.add(i);
        paths.add(c.path());
    }

    /** Prompts without memory add no memory branch and do not count against the path cap. */
    private static int countMemoryPaths(Set<String> paths) {
        return paths.contains("none") ? paths.size() - 1 : paths.size();
    }
}
