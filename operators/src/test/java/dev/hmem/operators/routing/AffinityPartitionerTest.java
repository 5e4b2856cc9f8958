package dev.hmem.operators.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Placement follows the parallelism Flink passes at runtime, whatever it was when the job was built. */
class AffinityPartitionerTest {

    static int[] place(AffinityPartitioner p, int subtasks, int prompts, Random rnd) {
        int[] load = new int[subtasks];
        for (int i = 0; i < prompts; i++) {
            String path = rnd.nextInt(10) == 0 ? "none" : rnd.nextInt(8) + "." + rnd.nextInt(4);
            int s = p.partition(path, subtasks);
            assertThat(s).isBetween(0, subtasks - 1);
            load[s]++;
        }
        return load;
    }

    @Test
    void aRescaleKeepsEverySubtaskBusyAndNoneOutOfRange() {
        Random rnd = new Random(4);
        AffinityPartitioner p = new AffinityPartitioner(true);
        for (int subtasks : new int[] {2, 1, 3, 2, 5}) {
            int[] load = place(p, subtasks, 2_000, rnd);
            for (int l : load) assertThat(l).as("subtasks %d", subtasks).isGreaterThan(2_000 / subtasks / 4);
        }
    }

    @Test
    void aClusterKeepsItsSubtaskWhileLoadIsEven() {
        AffinityPartitioner p = new AffinityPartitioner(true);
        int first = p.partition("2.1", 4);
        assertThat(p.partition("2.3", 4)).as("same level-1 cluster").isEqualTo(first);
    }

    @Test
    void aZipfLoadStaysWithinTheSlackAndMostPromptsKeepTheirClustersSubtask() {
        // One channel carries a router's prompts to every subtask, so the busiest subtask's queue
        // sets everyone's pace: placement must stay near even under a skewed load, yet keep
        // clusters together where it can.
        for (int subtasks : new int[] {2, 3, 4}) {
            Random rnd = new Random(subtasks);
            double[] cdf = new double[64];
            double sum = 0;
            for (int r = 0; r < 64; r++) cdf[r] = sum += 1.0 / (r + 1);
            AffinityPartitioner p = new AffinityPartitioner(true);
            SubtaskAffinity order = new SubtaskAffinity(subtasks, 1, 2);
            int[] load = new int[subtasks];
            int n = 20_000, home = 0;
            for (int i = 0; i < n; i++) {
                double u = rnd.nextDouble() * sum;
                int cluster = 0;
                while (cdf[cluster] < u) cluster++;
                int s = p.partition(cluster + "." + rnd.nextInt(16), subtasks);
                load[s]++;
                if (s == order.preference(Integer.toString(cluster))[0]) home++;
            }
            double mean = (double) n / subtasks;
            for (int l : load) assertThat(l).as("subtasks %d: %s", subtasks, java.util.Arrays.toString(load))
                    .isLessThanOrEqualTo((int) (mean * (AffinityPartitioner.SLACK + 0.01)));
            assertThat(home).as("prompts on their cluster's first choice, %d subtasks", subtasks).isGreaterThan(n / 2);
        }
    }

    @Test
    void roundRobinIgnoresPaths() {
        AffinityPartitioner p = new AffinityPartitioner(false);
        assertThat(new int[] {p.partition("1.1", 3), p.partition("1.1", 3), p.partition("1.1", 3)}).containsExactly(0, 1, 2);
    }
}
