package dev.hmem.cli.sizing;

import dev.hmem.operators.routing.AffinityPartitioner;
import dev.hmem.runtime.bank.MemoryPath;
import java.util.SplittableRandom;

/**
 * Which share of each level-1 cluster's prompts each generate subtask serves. Hierarchy-aware placement sends a
 * cluster to one subtask (spilling a hot one to its next choices), so a subtask needs only its clusters' deep
 * blocks; without it every subtask sees every cluster and needs the whole working set.
 *
 * @param share share[c][s]: the fraction of level-1 cluster c's prompts served by subtask s (each row sums to 1)
 */
public record Placement(String name, double[][] share) {

    public int subtasks() {
        return share[0].length;
    }

    /** Round-robin (or any placement blind to the tree): every subtask serves 1/P of every cluster. */
    public static Placement spread(int clusters, int subtasks) {
        double[][] s = new double[clusters][subtasks];
        for (double[] row : s) java.util.Arrays.fill(row, 1.0 / subtasks);
        return new Placement("round-robin", s);
    }

    /**
     * hmem's own placement, measured rather than assumed: {@code prompts} leaves drawn from the law are handed to
     * the job's {@link AffinityPartitioner}, and each cluster's share per subtask is counted, spill-over included.
     */
    public static Placement affinity(LeafPopularity law, int subtasks, int prompts, long seed) {
        BankShape shape = law.shape();
        int clusters = shape.nodes(1), perCluster = shape.leaves() / clusters;
        AffinityPartitioner p = new AffinityPartitioner(true);
        double[][] s = new double[clusters][subtasks];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < prompts; i++) {
            int leaf = law.draw(rnd), c = leaf / perCluster;
            String path = MemoryPath.fromNodeIndex(leaf, shape.depth(), shape.branching()).toString();
            s[c][p.partition(path, subtasks)]++;
        }
        for (double[] row : s) {
            double t = 0;
            for (double v : row) t += v;
            for (int j = 0; j < row.length; j++) row[j] = t > 0 ? row[j] / t : 1.0 / row.length;
        }
        return new Placement("hierarchy-aware", s);
    }
}
