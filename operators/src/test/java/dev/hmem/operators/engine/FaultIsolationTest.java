package dev.hmem.operators.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Bisection over random batches: some members are poison (a run containing one fails part way,
 * after some members have finished), and a first failure may be passing. Whatever the mix, every
 * good member is answered exactly once, every poison member is poisoned exactly once, and the runs
 * stay within the bisection's bound.
 */
class FaultIsolationTest {

    /** A runner over integers: members in {@code poison} fail every run they are in. */
    static final class Simulated implements FaultIsolation.Runner<Integer> {
        final Set<Integer> poison;
        final Random rnd;
        boolean transientFailure;
        final Map<Integer, Integer> answered = new HashMap<>();

        Simulated(Set<Integer> poison, Random rnd, boolean transientFailure) {
            this.poison = poison;
            this.rnd = rnd;
            this.transientFailure = transientFailure;
        }

        @Override
        public FaultIsolation.Outcome<Integer> run(List<Integer> group) {
            boolean fails = transientFailure || group.stream().anyMatch(poison::contains);
            transientFailure = false;
            if (!fails) {
                for (int m : group) answered.merge(m, 1, Integer::sum);
                return FaultIsolation.Outcome.done();
            }
            // The step fails after some good members have already finished.
            List<Integer> left = new ArrayList<>();
            for (int m : group) {
                if (!poison.contains(m) && rnd.nextInt(3) == 0) answered.merge(m, 1, Integer::sum);
                else left.add(m);
            }
            return new FaultIsolation.Outcome<>(left, new IllegalStateException("step failed"));
        }
    }

    @Test
    void everyGoodPromptIsAnsweredOnceAndEveryPoisonOneIsolated() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 2_000; trial++) {
            int n = 1 + rnd.nextInt(64);
            List<Integer> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) batch.add(i);
            Set<Integer> poison = new HashSet<>();
            int culprits = rnd.nextInt(4) == 0 ? 0 : 1 + rnd.nextInt(Math.min(3, n));
            while (poison.size() < culprits) poison.add(rnd.nextInt(n));
            // A fault that does not recur, in a batch of two or more (a lone prompt that fails twice is poison).
            Simulated runner = new Simulated(poison, rnd, n > 1 && (culprits == 0 || rnd.nextBoolean()));
            Map<Integer, Integer> poisoned = new HashMap<>();
            int runs = FaultIsolation.isolate(batch, runner, (m, why) -> poisoned.merge(m, 1, Integer::sum), () -> true);

            assertThat(poisoned.keySet()).as("trial %d", trial).isEqualTo(poison);
            assertThat(poisoned.values()).allMatch(c -> c == 1);
            Set<Integer> good = new HashSet<>(batch);
            good.removeAll(poison);
            assertThat(runner.answered.keySet()).as("trial %d", trial).isEqualTo(good);
            assertThat(runner.answered.values()).allMatch(c -> c == 1);
            // One retry, then at most two runs per halving for each culprit.
            int log = 32 - Integer.numberOfLeadingZeros(n);
            assertThat(runs).isLessThanOrEqualTo(2 + Math.max(1, culprits) * 2 * (log + 1));
        }
    }

    @Test
    void aFailureThatDoesNotRecurPoisonsNobody() {
        Simulated runner = new Simulated(Set.of(), new Random(1), true);
        List<Integer> poisoned = new ArrayList<>();
        int runs = FaultIsolation.isolate(List.of(1, 2, 3, 4), runner, (m, why) -> poisoned.add(m), () -> true);
        // The first run fails (passing fault); what it left unfinished is split and both halves pass.
        assertThat(poisoned).isEmpty();
        assertThat(runner.answered.keySet()).containsExactlyInAnyOrder(1, 2, 3, 4);
        assertThat(runs).isLessThanOrEqualTo(3);
    }

    @Test
    void stopsWhenTheEngineShutsDown() {
        Simulated runner = new Simulated(Set.of(0), new Random(2), false);
        int runs = FaultIsolation.isolate(List.of(0, 1, 2, 3), runner, (m, why) -> { }, () -> false);
        assertThat(runs).isZero();
        assertThat(runner.answered).isEmpty();
    }
}
