package dev.hmem.training.corpus;

import java.util.Map;

/**
 * What corpus to build: how many facts of each relation (-1 = all), their Zipf mention counts
 * (the rank-r fact is stated max / r^zipf times, at least min), and how much general prose.
 *
 * @param facts          facts per relation
 * @param zipf           exponent s of the mention distribution
 * @param maxMentions    mentions of the most popular fact
 * @param minMentions    mentions of the rarest facts
 * @param proseRepeat    times each prose paragraph appears in training
 * @param maxProse       prose paragraphs used at most (training and held out together; 0 = all)
 * @param heldOutProse   fraction of prose paragraphs kept out of training (perplexity)
 * @param seed           everything random in the build derives from it
 */
public record CorpusSpec(Map<FactTables.Relation, Integer> facts, double zipf, int maxMentions, int minMentions,
                         int proseRepeat, int maxProse, double heldOutProse, long seed) {

    public CorpusSpec {
        facts = Map.copyOf(facts);
        if (zipf < 0) throw new IllegalArgumentException("zipf exponent must be >= 0");
        if (minMentions < 1 || maxMentions < minMentions) {
            throw new IllegalArgumentException("need 1 <= min mentions <= max mentions, got " + minMentions + ", " + maxMentions);
        }
        if (heldOutProse < 0 || heldOutProse >= 1) throw new IllegalArgumentException("held-out fraction must be in [0, 1)");
    }
}
