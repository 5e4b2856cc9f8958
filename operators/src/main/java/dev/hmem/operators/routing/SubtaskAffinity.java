package dev.hmem.operators.routing;

/**
 * Places clusters on generate subtasks with consistent hashing with bounded loads (Mirrokni,
 * Thorup, Zadimoghaddam): every cluster has a fixed preference order over subtasks (rendezvous
 * hashing), and goes to the first subtask in that order whose recent load is below
 * {@code slack} × the mean. A cluster's prompts therefore share one subtask's cache while it can
 * take them, and a hot cluster spills over to its next choices — always the same ones, so the
 * spill-over subtasks warm up on it too — instead of pinning one subtask while others idle.
 * Load is the count of recent assignments, decayed geometrically, as seen by this router instance.
 */
public final class SubtaskAffinity {

    private final int subtasks;
    private final double slack;
    private final double decay;
    private final double[] load;
    private double total;

    /**
     * @param slack  allowed load over the mean (1.25 = 25%)
     * @param window assignments over which load is remembered (decay 1 - 1/window per assignment)
     */
    public SubtaskAffinity(int subtasks, double slack, int window) {
        if (subtasks < 1) throw new IllegalArgumentException("need at least one subtask");
        if (slack < 1) throw new IllegalArgumentException("slack must be >= 1, got " + slack);
        this.subtasks = subtasks;
        this.slack = slack;
        this.decay = 1.0 - 1.0 / Math.max(2, window);
        this.load = new double[subtasks];
    }

    public int subtasks() {
        return subtasks;
    }

    /** The subtask for the next prompt of {@code cluster}. */
    public int assign(String cluster) {
        int chosen = -1;
        double bound = slack * (total / subtasks) + 1;
        int[] order = preference(cluster);
        for (int s : order) {
            if (load[s] < bound) {
                chosen = s;
                break;
            }
        }
        if (chosen < 0) chosen = order[0];
        record(chosen);
        return chosen;
    }

    /** The least loaded subtask (prompts without memory have no affinity). */
    public int leastLoaded() {
        int best = 0;
        for (int s = 1; s < subtasks; s++) if (load[s] < load[best]) best = s;
        record(best);
        return best;
    }

    private void record(int s) {
        for (int i = 0; i < subtasks; i++) load[i] *= decay;
        total = total * decay + 1;
        load[s] += 1;
    }

    /** Subtasks by descending rendezvous weight for {@code cluster}. */
    int[] preference(String cluster) {
        long[] w = new long[subtasks];
        Integer[] idx = new Integer[subtasks];
        for (int s = 0; s < subtasks; s++) {
            w[s] = mix(cluster.hashCode() * 0x9E3779B97F4A7C15L + s);
            idx[s] = s;
        }
        java.util.Arrays.sort(idx, (a, b) -> Long.compareUnsigned(w[b], w[a]));
        int[] out = new int[subtasks];
        for (int i = 0; i < subtasks; i++) out[i] = idx[i];
        return out;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
