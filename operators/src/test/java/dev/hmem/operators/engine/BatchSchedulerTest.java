package dev.hmem.operators.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.engine.BatchScheduler.Candidate;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchSchedulerTest {

    static final long MS = 1_000_000;

    @Test
    void admitsOnlyPromptsWhoseBlocksAreLoaded() {
        List<Candidate> w = List.of(new Candidate("1.1", 0, false), new Candidate("2.1", 0, true));
        assertThat(BatchScheduler.pick(w, Set.of(), 8, 16, 10 * MS, 1000 * MS)).containsExactly(1);
    }

    @Test
    void prefersPathsAlreadyInTheBatch() {
        List<Candidate> w = List.of(new Candidate("1.1", 0, true), new Candidate("2.2", 1, true), new Candidate("2.2", 2, true));
        assertThat(BatchScheduler.pick(w, Set.of("2.2"), 2, 16, 10 * MS, 1000 * MS)).containsExactly(1, 2);
    }

    @Test
    void capsDistinctPathsAndGroupsAPathsPrompts() {
        List<Candidate> w = List.of(new Candidate("1", 0, true), new Candidate("2", 1, true), new Candidate("3", 2, true),
                new Candidate("1", 3, true), new Candidate("none", 4, true));
        // Two paths at most: "1" (twice) and "2"; prompts without memory do not count against the cap.
        assertThat(BatchScheduler.pick(w, Set.of(), 8, 2, 10 * MS, 1000 * MS)).containsExactly(0, 1, 3, 4);
    }

    @Test
    void newPathsWithMoreWaitingPromptsComeFirst() {
        List<Candidate> w = List.of(new Candidate("1", 0, true), new Candidate("2", 1, true), new Candidate("2", 2, true),
                new Candidate("3", 3, true), new Candidate("2", 4, true));
        assertThat(BatchScheduler.pick(w, Set.of(), 8, 1, 10 * MS, 1000 * MS)).containsExactly(1, 2, 4);
    }

    @Test
    void starvingPromptsGoFirstWhateverTheirPath() {
        List<Candidate> w = List.of(new Candidate("9", 0, true), new Candidate("1", 900 * MS, true));
        assertThat(BatchScheduler.pick(w, Set.of("1"), 1, 16, 1000 * MS, 500 * MS)).containsExactly(0);
        assertThat(BatchScheduler.pick(w, Set.of("1"), 0, 16, 1000 * MS, 500 * MS)).isEmpty();
    }
}
