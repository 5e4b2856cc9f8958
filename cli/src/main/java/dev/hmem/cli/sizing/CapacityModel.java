package dev.hmem.cli.sizing;

/**
 * Each level's hit rate for a bank shape, a popularity law, a block-cache budget per subtask, P subtasks and a
 * placement. Every subtask is one cache with its own request mix: node n of level l is asked for at the rate of its
 * leaves times the share of its level-1 cluster that the subtask serves. Levels up to {@code pinnedLevels} are
 * pinned (always hits, outside the budget, as in {@code BlockCache}); the others share the budget under the policy.
 * A level's hit rate is over all prompts of all subtasks.
 */
public final class CapacityModel {

    /**
     * @param hit       hit rate per level (index 0 = level 1); missBytes expected bytes read from the store per prompt
     * @param nodeHit   per level (index 0 = level 1) and node (tree order), the chance that a prompt using the node
     *                  finds it cached, over the subtasks its prompts go to (1 for pinned levels, 0 for unused nodes):
     *                  what a prediction for a short run needs, where a node can only hit once it has been asked for
     */
    public record Prediction(double[] hit, double missBytes, long pinnedBytes, long wantedBytes, double[][] nodeHit) {
        /** The chance that a prompt on {@code leaf} (tree order) finds its block of {@code level} cached. */
        public double leafHit(int level, int leaf, BankShape shape) {
            return nodeHit[level - 1][leaf / (shape.leaves() / shape.nodes(level))];
        }
    }

    private CapacityModel() {}

    public static Prediction predict(LeafPopularity law, Placement placement, long budgetPerSubtask, int pinnedLevels,
                                     CachePolicy policy) {
        BankShape shape = law.shape();
        int depth = shape.depth(), subtasks = placement.subtasks();
        if (placement.share().length != shape.nodes(1)) {
            throw new IllegalArgumentException("placement covers " + placement.share().length + " clusters, the bank has " + shape.nodes(1));
        }
        double[][] node = new double[depth + 1][];
        int items = 0;
        for (int l = pinnedLevels + 1; l <= depth; l++) {
            node[l] = law.nodes(l);
            items += node[l].length;
        }
        double[] hits = new double[depth];
        double[][] nodeHit = new double[depth][], nodeRate = new double[depth][];
        for (int l = 1; l <= depth; l++) {
            nodeHit[l - 1] = new double[shape.nodes(l)];
            nodeRate[l - 1] = new double[shape.nodes(l)];
            if (l <= pinnedLevels) java.util.Arrays.fill(nodeHit[l - 1], 1.0);
        }
        for (int l = 1; l <= Math.min(pinnedLevels, depth); l++) hits[l - 1] = 1;
        long pinned = shape.levelBytes(1, Math.min(pinnedLevels, depth));
        long wanted = 0;
        double missBytes = 0;
        for (int s = 0; s < subtasks; s++) {
            double[] rate = new double[items];
            long[] bytes = new long[items];
            int[] levelOf = new int[items], nodeOf = new int[items];
            int i = 0;
            for (int l = pinnedLevels + 1; l <= depth; l++) {
                int perCluster = shape.nodes(l) / shape.nodes(1);
                for (int n = 0; n < node[l].length; n++, i++) {
                    rate[i] = node[l][n] * placement.share()[n / perCluster][s];
                    bytes[i] = shape.blockBytes()[l - 1];
                    levelOf[i] = l;
                    nodeOf[i] = n;
                    if (rate[i] > 0) wanted += bytes[i];
                }
            }
            double[] h = policy.hitProbabilities(rate, bytes, budgetPerSubtask);
            for (i = 0; i < items; i++) {
                hits[levelOf[i] - 1] += rate[i] * h[i];  // rates sum to this subtask's share of prompts
                nodeHit[levelOf[i] - 1][nodeOf[i]] += rate[i] * h[i];
                nodeRate[levelOf[i] - 1][nodeOf[i]] += rate[i];
                missBytes += rate[i] * (1 - h[i]) * bytes[i];
            }
        }
        for (int l = pinnedLevels + 1; l <= depth; l++) {
            for (int n = 0; n < nodeHit[l - 1].length; n++) {
                double r = nodeRate[l - 1][n];
                nodeHit[l - 1][n] = r > 0 ? nodeHit[l - 1][n] / r : 0;
            }
        }
        return new Prediction(hits, missBytes, pinned, wanted / subtasks, nodeHit);
    }
}
