package dev.hmem.training.train;

import dev.hmem.training.corpus.CorpusBuilder;
import dev.hmem.training.corpus.CorpusSpec;
import java.util.Map;
import java.util.TreeMap;

/** The named training configurations. */
public final class TrainConfigs {

    private TrainConfigs() {}

    /** Trains in well under a minute on 2 cores: for tests. */
    public static TrainConfig micro(long seed) {
        CorpusSpec corpus = new CorpusSpec(CorpusBuilder.counts(30, 0, 20, 0, 0, 0), 1.0, 60, 2, 1, 200, 0.1, seed);
        return new TrainConfig("micro", corpus, 400, 64, 128, 2, 4, 2, 64, 4, 2, new int[] {16, 8}, 8, 4,
                48, 8, 30, 30, 3e-3, 1e-2, 0.01, 1e-3, 0.1, 1.0, 1.0 / 17, 4, 1.5, "tokens", 20, seed);
    }

    /**
     * The model the README's demo serves: built on first use in under 10 minutes on 2 cores.
     * A 3.7M-parameter anchor (d 256, 4 layers, FFN 768, GQA 4/2); a bank of 4 + 16 blocks (k=4,
     * depth 2) fetching 128 + 64 neurons per layer (16% of the anchor's parameters); ~1,300 facts
     * at Zipf frequencies (the most popular stated 300 times, the rarest once) mixed with prose.
     */
    public static TrainConfig demo(long seed) {
        CorpusSpec corpus = new CorpusSpec(CorpusBuilder.counts(-1, 0, -1, -1, 500, 300), 1.0, 300, 1, 1, 0, 0.1, seed);
        return new TrainConfig("demo", corpus, 2048, 256, 768, 4, 4, 2, 256, 4, 2, new int[] {128, 64}, 64, 4,
                128, 16, 180, 400, 3e-3, 1e-2, 0.01, 1e-3, 0.05, 1.0, 1.0 / 17, 1, 1.5, "tokens", 100, seed);
    }

    /**
     * The paper's shape at small scale (PAPER.md: k=16): the demo's anchor and corpus with a bank
     * of k=16 trees and a fixed fetched size of 128 neurons per layer. {@code paper-flat} is one
     * level of 16 blocks of 128; {@code paper-s/m/l} are two levels (96 + 32) whose level-1 nodes
     * are split into about 4, 8 or 16 leaves (a node is split only into children of at least
     * {@code minLeaf} subjects), so the bank grows at the same fetched size.
     */
    public static TrainConfig paper(String size, long seed) {
        TrainConfig d = demo(seed);
        int depth = size.equals("flat") ? 1 : 2;
        int[] neurons = depth == 1 ? new int[] {128} : new int[] {96, 32};
        int minLeaf = switch (size) {
            case "flat" -> 4;
            case "s" -> 30;
            case "m" -> 15;
            case "l" -> 7;
            default -> throw new IllegalArgumentException("paper size must be flat, s, m or l, got " + size);
        };
        return new TrainConfig("paper-" + size, d.corpus(), d.vocab(), d.hidden(), d.ffn(), d.layers(), d.heads(), d.kvHeads(),
                d.context(), 16, depth, neurons, d.generic(), minLeaf, d.seqLen(), d.batch(), d.anchorSteps(), d.memorySteps(),
                d.lrAnchor(), d.lrMemory(), d.wdAnchor(), d.wdMemory(), d.warmup(), d.clip(), d.genericProb(), d.rowsPerLeaf(),
                d.denseScale(), d.denseMatch(), d.checkpointEvery(), seed);
    }

    public static Map<String, TrainConfig> all(long seed) {
        Map<String, TrainConfig> m = new TreeMap<>();
        m.put("micro", micro(seed));
        m.put("demo", demo(seed));
        for (String size : new String[] {"flat", "s", "m", "l"}) m.put("paper-" + size, paper(size, seed));
        return m;
    }

    public static TrainConfig byName(String name, long seed) {
        TrainConfig c = all(seed).get(name);
        if (c == null) throw new IllegalArgumentException("unknown configuration '" + name + "' (known: " + all(seed).keySet() + ")");
        return c;
    }
}
