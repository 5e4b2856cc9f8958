package dev.hmem.runtime.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Temperature, top-k and top-p sampling over one row of logits, on the CPU in Java. */
final class Sampler {

    private Sampler() {}

    static int argmax(float[] logits, int offset, int length) {
        int best = 0;
        float bestV = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < length; i++) {
            float v = logits[offset + i];
            if (v > bestV) {
                bestV = v;
                best = i;
            }
        }
        return best;
    }

    /** The tokens sampling may pick (most likely first when cut) and their probabilities renormalised over them. */
    record Kept(int[] tokens, double[] probs) {}

    /**
     * Temperature, then top-k, then top-p — in that order, as Hugging Face's logits warpers and
     * vLLM apply them: top-p keeps the smallest set of the top-k tokens whose probability,
     * renormalised over the top-k tokens, reaches p. At least one token is always kept.
     */
    static Kept keep(float[] logits, int offset, int vocab, SamplingParams p) {
        double[] probs = new double[vocab];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            probs[i] = Math.exp((logits[offset + i] - max) / p.temperature());
            sum += probs[i];
        }
        if (p.topK() <= 0 && p.topP() >= 1) {
            int[] all = new int[vocab];
            for (int i = 0; i < vocab; i++) {
                all[i] = i;
                probs[i] /= sum;
            }
            return new Kept(all, probs);
        }
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) order[i] = i;
        final double[] pr = probs;
        // Stable order (probability, then token id) keeps sampling deterministic for a seed.
        Arrays.sort(order, (a, b) -> pr[a] != pr[b] ? Double.compare(pr[b], pr[a]) : Integer.compare(a, b));
        int keep = p.topK() > 0 ? Math.min(vocab, p.topK()) : vocab;
        double mass = 0;
        for (int i = 0; i < keep; i++) mass += probs[order[i]];
        if (p.topP() < 1) {
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += probs[order[i]] / mass;
                if (cum >= p.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        int[] tokens = new int[keep];
        double[] kept = new double[keep];
        double keptMass = 0;
        for (int i = 0; i < keep; i++) keptMass += probs[order[i]];
        for (int i = 0; i < keep; i++) {
            tokens[i] = order[i];
            kept[i] = probs[order[i]] / keptMass;
        }
        return new Kept(tokens, kept);
    }

    /** Samples a token from {@code logits[offset, offset + vocab)} (which it leaves untouched). */
    static int sample(float[] logits, int offset, int vocab, SamplingParams p, SplittableRandom rnd) {
        if (p.isGreedy()) return argmax(logits, offset, vocab);
        Kept k = keep(logits, offset, vocab, p);
        double u = rnd.nextDouble();
        double acc = 0;
        for (int i = 0; i < k.tokens().length; i++) {
            acc += k.probs()[i];
            if (u < acc) return k.tokens()[i];
        }
        return k.tokens()[k.tokens().length - 1];
    }
}
