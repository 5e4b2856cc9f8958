package dev.hmem.operators.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SubtaskAffinityTest {

    @Test
    void eachClusterStaysOnOneSubtaskUnderEvenLoad() {
        SubtaskAffinity a = new SubtaskAffinity(4, 1.25, 256);
        Map<String, Set<Integer>> placed = new HashMap<>();
        Random rnd = new Random(1);
        for (int i = 0; i < 4000; i++) {
            String c = Integer.toString(rnd.nextInt(64));
            placed.computeIfAbsent(c, k -> new HashSet<>()).add(a.assign(c));
        }
        // Hashing 64 clusters onto 4 subtasks leaves some subtasks over the bound, so a few clusters
        // alternate with their second choice; most stay put and none wanders further.
        long sticky = placed.values().stream().filter(s -> s.size() == 1).count();
        int pairs = placed.values().stream().mapToInt(Set::size).sum();
        assertThat(sticky).as("clusters that never moved").isGreaterThan(32);
        assertThat(pairs).as("cluster-subtask pairs").isLessThanOrEqualTo(96);
    }

    @Test
    void aHotClusterSpillsOverInsteadOfPinningOneSubtask() {
        SubtaskAffinity a = new SubtaskAffinity(4, 1.25, 256);
        int[] load = new int[4];
        Set<Integer> hotHomes = new HashSet<>();
        Random rnd = new Random(2);
        for (int i = 0; i < 8000; i++) {
            boolean hot = rnd.nextDouble() < 0.7;
            String c = hot ? "hot" : Integer.toString(rnd.nextInt(32));
            int s = a.assign(c);
            load[s]++;
            if (hot) hotHomes.add(s);
        }
        assertThat(hotHomes.size()).isGreaterThan(1);
        double mean = 8000 / 4.0;
        for (int l : load) assertThat(l).isLessThan((int) (1.35 * mean));
        // ... and it spills in its fixed preference order: its first choice takes the most.
        int first = a.preference("hot")[0];
        int max = 0;
        for (int s = 1; s < 4; s++) if (load[s] > load[max]) max = s;
        assertThat(load[first]).isGreaterThanOrEqualTo((int) (0.8 * load[max]));
    }
}
