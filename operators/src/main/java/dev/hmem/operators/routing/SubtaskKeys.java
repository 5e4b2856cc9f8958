package dev.hmem.operators.routing;

import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

/**
 * For each subtask of an operator with a given parallelism, an integer key that Flink's keyBy
 * sends to exactly that subtask. Routing decides the subtask; the key makes Flink honour it.
 */
public final class SubtaskKeys {

    private SubtaskKeys() {}

    public static int[] forParallelism(int parallelism, int maxParallelism) {
        int[] keys = new int[parallelism];
        boolean[] found = new boolean[parallelism];
        int missing = parallelism;
        for (int k = 0; missing > 0; k++) {
            if (k > 1_000_000) throw new IllegalStateException("no key found for every subtask");
            int s = KeyGroupRangeAssignment.assignKeyToParallelOperator(k, maxParallelism, parallelism);
            if (!found[s]) {
                found[s] = true;
                keys[s] = k;
                missing--;
            }
        }
        return keys;
    }
}
