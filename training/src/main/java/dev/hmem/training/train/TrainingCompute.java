package dev.hmem.training.train;

import dev.hmem.runtime.config.ModelConfig;

/**
 * Training FLOPs of a run, counted the usual way: a forward pass costs 2 FLOPs per weight a token
 * passes through (every matrix multiply, the tied output projection included, the embedding
 * lookup not) plus attention's scores and weighted sums over the average causal span, and a
 * training step three forward passes' worth (forward, and backward through activations and
 * weights). Memory neurons count like FFN neurons for the rows that use them. This is what makes
 * the dense baseline compute-matched: it gets the steps that cost what the memory run cost.
 */
public final class TrainingCompute {

    private TrainingCompute() {}

    /** Forward FLOPs per token through the anchor (or dense model) alone, for sequences of {@code seqLen}. */
    public static double forwardPerToken(ModelConfig c, int seqLen) {
        double weights = c.activeParameterCount();
        double attention = 2.0 * c.numLayers() * c.numHeads() * c.headDim() * (seqLen + 1) / 2.0;  // QK^T and AV
        return 2 * (weights + attention);
    }

    /** Forward FLOPs per token of {@code neurons} memory neurons in every layer. */
    public static double memoryForwardPerToken(ModelConfig c, double neurons) {
        return 2 * 3.0 * c.hiddenSize() * neurons * c.numLayers();
    }

    /** Training FLOPs of {@code steps} steps of {@code batch} × {@code seqLen} tokens with {@code neurons} memory neurons per row. */
    public static double train(ModelConfig c, long steps, int batch, int seqLen, double neurons) {
        double perToken = forwardPerToken(c, seqLen) + memoryForwardPerToken(c, neurons);
        return 3 * perToken * steps * batch * seqLen;
    }
}
