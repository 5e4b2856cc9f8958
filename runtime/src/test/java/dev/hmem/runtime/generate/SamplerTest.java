package dev.hmem.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {

    /** Logits whose softmax (temperature 1) is exactly {@code p}. */
    static float[] logitsOf(double... p) {
        float[] l = new float[p.length];
        for (int i = 0; i < p.length; i++) l[i] = (float) Math.log(p[i]);
        return l;
    }

    static SamplingParams params(int topK, double topP) {
        return new SamplingParams(8, 1.0, topK, topP, 1L, List.of(), false);
    }

    @Test
    void topPIsAppliedToTheTopKTokensRenormalised() {
        // Probabilities 0.40 0.30 0.15 0.10 0.05. Top-k 3 keeps 0.85 of the mass; renormalised:
        // 0.4706, 0.3529, 0.1765. Top-p 0.8 then keeps tokens 0 and 1 (0.4706 + 0.3529 = 0.8235 >= 0.8).
        // Without renormalisation 0.40 + 0.30 = 0.70 < 0.8 would wrongly keep token 2 as well.
        float[] logits = logitsOf(0.40, 0.30, 0.15, 0.10, 0.05);
        Sampler.Kept k = Sampler.keep(logits, 0, 5, params(3, 0.8));
        assertThat(k.tokens()).containsExactly(0, 1);
        assertThat(k.probs()[0]).isCloseTo(0.40 / 0.70, within(1e-6));
        assertThat(k.probs()[1]).isCloseTo(0.30 / 0.70, within(1e-6));
    }

    @Test
    void eachCutAlone() {
        float[] logits = logitsOf(0.40, 0.30, 0.15, 0.10, 0.05);
        assertThat(Sampler.keep(logits, 0, 5, params(2, 1.0)).tokens()).containsExactly(0, 1);
        assertThat(Sampler.keep(logits, 0, 5, params(0, 0.8)).tokens()).containsExactly(0, 1, 2);
        assertThat(Sampler.keep(logits, 0, 5, params(0, 0.01)).tokens()).containsExactly(0);
        assertThat(Sampler.keep(logits, 0, 5, params(0, 1.0)).tokens()).hasSize(5);
    }

    @Test
    void samplesOnlyKeptTokensInTheirRenormalisedProportions() {
        float[] logits = logitsOf(0.40, 0.30, 0.15, 0.10, 0.05);
        SplittableRandom rnd = new SplittableRandom(3);
        int[] counts = new int[5];
        for (int i = 0; i < 20_000; i++) counts[Sampler.sample(logits, 0, 5, params(3, 0.8), rnd)]++;
        assertThat(counts[2] + counts[3] + counts[4]).isZero();
        assertThat(counts[0] / 20_000.0).isCloseTo(0.4 / 0.7, within(0.02));
    }
}
