package dev.hmem.runtime.generate;

import java.util.List;

/**
 * How to pick each next token. {@code temperature == 0} is greedy decoding; otherwise logits are
 * divided by the temperature, cut to the {@code topK} most likely tokens (0 = no cut) and to the
 * smallest set whose probability reaches {@code topP} (1 = no cut), then sampled with a generator
 * seeded by {@code seed}, so the same seed gives the same text.
 *
 * @param maxNewTokens tokens to generate at most (the context may stop generation earlier)
 * @param seed         null lets the caller derive one (the streaming job uses the request id,
 *                     so a replay after a failure produces the same answer)
 * @param stopStrings  generation stops before the first occurrence of any of these
 * @param ignoreEos    keep generating after an end-of-sequence token (benchmarks)
 */
public record SamplingParams(int maxNewTokens, double temperature, int topK, double topP, Long seed,
                             List<String> stopStrings, boolean ignoreEos) {

    public static final int MAX_NEW_TOKENS_LIMIT = 1 << 16;

    public SamplingParams {
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        if (maxNewTokens < 1 || maxNewTokens > MAX_NEW_TOKENS_LIMIT) {
            throw new IllegalArgumentException("max_new_tokens must be in [1, " + MAX_NEW_TOKENS_LIMIT
                    + "], got " + maxNewTokens);
        }
        if (!(temperature >= 0) || temperature > 100 || Double.isNaN(temperature)) {
            throw new IllegalArgumentException("temperature must be in [0, 100], got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0 (0 disables it), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }
        for (String s : stopStrings) {
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("stop strings must not be empty");
        }
    }

    public static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(maxNewTokens, 0, 0, 1, null, List.of(), false);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public SamplingParams withSeed(long s) {
        return new SamplingParams(maxNewTokens, temperature, topK, topP, s, stopStrings, ignoreEos);
    }

    public SamplingParams withIgnoreEos(boolean ignore) {
        return new SamplingParams(maxNewTokens, temperature, topK, topP, seed, stopStrings, ignore);
    }
}
