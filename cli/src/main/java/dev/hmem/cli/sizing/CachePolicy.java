package dev.hmem.cli.sizing;

/**
 * A cache replacement policy's steady-state hit probability per item under independent requests (each request
 * names item i with probability rate[i], whatever came before), for items of different sizes sharing one byte
 * budget. Requests per unit of time do not matter, only the mix.
 */
public interface CachePolicy {

    /** @return the hit probability of each item */
    double[] hitProbabilities(double[] rate, long[] bytes, long budget);

    /** Least recently used, by Che's approximation (each item stays a characteristic time T after its last use). */
    CachePolicy LRU = CheApproximation::hitProbabilities;

    /** Caffeine's W-TinyLFU, the policy of hmem's block cache: see {@link FrequencyApproximation}. */
    CachePolicy TINY_LFU = FrequencyApproximation::hitProbabilities;

    static CachePolicy named(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "lru" -> LRU;
            case "tinylfu", "w-tinylfu", "caffeine" -> TINY_LFU;
            default -> throw new IllegalArgumentException("cache policy must be lru or tinylfu, got '" + name + "'");
        };
    }
}
