package dev.hmem.model.generate;

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

    /** Samples a token from {@code logits[offset, offset + vocab)} (which it leaves untouched). */
    static int sample(float[] logits, int offset, int vocab, SamplingParams p, SplittableRandom rnd) {
        if (p.isGreedy()) return argmax(logits, offset, vocab);
        Integer[] order = null;
        int keep = vocab;
        double[] probs = new double[vocab];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            probs[i] = Math.exp((logits[offset + i] - max) / p.temperature());
            sum += probs[i];
        }
        for (int i = 0; i < vocab; i++) probs[i] /= sum;
        if (p.topK() > 0 || p.topP() < 1) {
            order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) order[i] = i;
            final double[] pr = probs;
            // Stable order (probability, then token id) keeps sampling deterministic for a seed.
            Arrays.sort(order, (a, b) -> pr[a] != pr[b] ? Double.compare(pr[b], pr[a]) : Integer.compare(a, b));
            if (p.topK() > 0) keep = Math.min(keep, p.topK());
            if (p.topP() < 1) {
                double cum = 0;
                for (int i = 0; i < keep; i++) {
                    cum += probs[order[i]];
                    if (cum >= p.topP()) {
                        keep = i + 1;
                        break;
                    }
                }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += probs[order == null ? i : order[i]];
        double u = rnd.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            int tok = order == null ? i : order[i];
            acc += probs[tok];
            if (u < acc) return tok;
        }
        return order == null ? keep - 1 : order[keep - 1];
    }
}
