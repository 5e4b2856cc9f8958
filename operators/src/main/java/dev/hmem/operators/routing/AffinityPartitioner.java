package dev.hmem.operators.routing;

import dev.hmem.runtime.bank.MemoryPath;
import org.apache.flink.api.common.functions.Partitioner;

/**
 * Sends each routed prompt to a generate subtask, given by Flink the number of subtasks the job
 * runs <em>now</em>: after a rescale, or under adaptive or reactive scheduling, placement follows
 * the runtime parallelism instead of a count fixed when the job was built. The prompt's level-1
 * cluster picks the subtask through {@link SubtaskAffinity} (so prompts sharing upper-level blocks
 * meet on one cache, and a hot cluster spills over); prompts without memory go to the least loaded
 * subtask; the naive baseline goes round-robin. Each upstream subtask holds its own copy, and so
 * its own view of recent load, as Flink gives every sender its own partitioner instance.
 */
public final class AffinityPartitioner implements Partitioner<String> {

    /**
     * How far over the mean load a subtask may be before a cluster spills to its next choice. Tight,
     * because one channel carries a router's prompts to all subtasks: when the busiest subtask's
     * queue is full, the router blocks and every other subtask starves behind it. Measured at
     * saturation on the local cluster with 2 subtasks and 1.25: one subtask held 200-224 queued
     * prompts while the other sat at 0-35 and its engine used half a core.
     */
    static final double SLACK = 1.05;

    private final boolean affinity;
    private transient SubtaskAffinity placement;
    private transient long roundRobin;

    /** @param affinity false = round-robin (the naive baseline of the benchmarks) */
    public AffinityPartitioner(boolean affinity) {
        this.affinity = affinity;
    }

    /** @param path the prompt's memory path: "3.11.7", "generic" or "none" */
    @Override
    public int partition(String path, int subtasks) {
        if (!affinity) return (int) (roundRobin++ % subtasks);
        if (placement == null || placement.subtasks() != subtasks) placement = new SubtaskAffinity(subtasks, SLACK, 256);
        if (path.equals("none")) return placement.leastLoaded();
        return placement.assign(path.equals("generic") ? path : MemoryPath.parse(path).prefix(1).toString());
    }
}
