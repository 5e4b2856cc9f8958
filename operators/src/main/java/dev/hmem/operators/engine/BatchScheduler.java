package dev.hmem.operators.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.List;
import java.util.Set;

/**
 * Chooses which buffered prompts join the running batch, in the spirit of S-LoRA and vLLM's
 * multi-LoRA scheduling: only prompts whose memory blocks are already loaded (the rest are being
 * prefetched), prompts on a path the batch already runs first (no new memory branch), then new
 * paths by how many prompts wait on them, at most {@code maxPaths} distinct paths in the batch
 * (each costs a memory branch per layer), and anything that has waited longer than
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
        // 3. New paths while the batch has room for another path, the path with the most ready
        //    prompts first (fills the batch with few memory branches), ties to the oldest prompt.
        Map<String, Integer> readyPerPath = new HashMap<>();
        Map<String, Integer> firstIndex = new HashMap<>();
        for (int i = 0; i < waiting.size(); i++) {
            Candidate c = waiting.get(i);
            if (taken[i] || !c.ready()) continue;
            readyPerPath.merge(c.path(), 1, Integer::sum);
            firstIndex.putIfAbsent(c.path(), i);
        }
        List<String> newPaths = new ArrayList<>(readyPerPath.keySet());
        newPaths.sort((a, b) -> readyPerPath.get(a).equals(readyPerPath.get(b))
                ? Integer.compare(firstIndex.get(a), firstIndex.get(b)) : Integer.compare(readyPerPath.get(b), readyPerPath.get(a)));
        for (String path : newPaths) {
            if (chosen.size() >= freeSlots) break;
            if (!path.equals("none") && !paths.contains(path) && countMemoryPaths(paths) >= maxPaths) continue;
            for (int i = 0; i < waiting.size() && chosen.size() < freeSlots; i++) {
                Candidate c = waiting.get(i);
                if (!taken[i] && c.ready() && c.path().equals(path)) take(i, c, chosen, taken, paths);
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
