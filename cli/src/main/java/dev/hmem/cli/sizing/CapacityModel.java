package dev.hmem.cli.sizing;

/**
 * Each level's hit rate for a bank shape, a popularity law, a block-cache budget per subtask, P subtasks and a
 * placement. Every subtask is one cache with its own request mix: node n of level l is asked for at the rate of its
 * leaves times the share of its level-1 cluster that the subtask serves. Levels up to {@code pinnedLevels} are
 * pinned (always hits, outside the budget, as in {@code BlockCache}); the others share the budget under the policy.
 * A level's hit rate is over all prompts of all subtasks.
 */
public final class CapacityModel {

    /** @param hit hit rate per level (index 0 = level 1); missBytes expected bytes read from the store per prompt */
    public record Prediction(double[] hit, double missBytes, long pinnedBytes, long wantedBytes) {}

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
        for (int l = 1; l <= Math.min(pinnedLevels, depth); l++) hits[l - 1] = 1;
        long pinned = shape.levelBytes(1, Math.min(pinnedLevels, depth));
        long wanted = 0;
        double missBytes = 0;
        for (int s = 0; s < subtasks; s++) {
            double[] rate = new double[items];
            long[] bytes = new long[items];
            int[] levelOf = new int[items];
            int i = 0;
            for (int l = pinnedLevels + 1; l <= depth; l++) {
                int perCluster = shape.nodes(l) / shape.nodes(1);
                for (int n = 0; n < node[l].length; n++, i++) {
                    rate[i] = node[l][n] * placement.share()[n / perCluster][s];
                    bytes[i] = shape.blockBytes()[l - 1];
                    levelOf[i] = l;
                    if (rate[i] > 0) wanted += bytes[i];
                }
            }
            double[] h = policy.hitProbabilities(rate, bytes, budgetPerSubtask);
            for (i = 0; i < items; i++) {
                hits[levelOf[i] - 1] += rate[i] * h[i];  // rates sum to this subtask's share of prompts
                missBytes += rate[i] * (1 - h[i]) * bytes[i];
            }
        }
        return new Prediction(hits, missBytes, pinned, wanted / subtasks);
    }
}
