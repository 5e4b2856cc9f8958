package dev.hmem.training.train;

import dev.hmem.training.corpus.CorpusSpec;

/**
 * Everything that defines a training run: corpus, tokenizer, anchor shape, memory bank shape and
 * the optimisation schedule. Named configurations live in {@link TrainConfigs}.
 *
 * @param vocab          BPE vocabulary to learn (the model is sized to what is learned)
 * @param neurons        r_l per tree level 1..depth (0 = no blocks at that level)
 * @param generic        neurons of the generic memory (0 = none)
 * @param minLeaf        documents a cluster needs per child to be split further
 * @param anchorSteps    stage 1: anchor alone
 * @param memorySteps    stage 2: anchor and memories together (or memories alone, post hoc)
 * @param lrMemory       peak LR of memory blocks (cosine to lrMemory/10)
 * @param genericProb    probability that a leaf group uses the generic memory instead of its path
 *                       (PAPER.md: 1/17)
 * @param rowsPerLeaf    sequences of a memory batch that share one leaf (fewer = more leaves, so
 *                       more blocks, updated per step; more = fewer memory branches per step)
 * @param denseScale     width factor of the dense baseline's hidden and FFN sizes (≈ its parameter ratio squared)
 * @param denseMatch     how the dense baseline's steps are set: "flops" (the memory run's training
 *                       FLOPs, {@link TrainingCompute}) or "tokens" (its tokens)
 */
public record TrainConfig(
        String name, CorpusSpec corpus, int vocab,
        int hidden, int ffn, int layers, int heads, int kvHeads, int context,
        int branching, int depth, int[] neurons, int generic, int minLeaf,
        int seqLen, int batch, int anchorSteps, int memorySteps,
        double lrAnchor, double lrMemory, double wdAnchor, double wdMemory, double warmup, double clip,
        double genericProb, int rowsPerLeaf, double denseScale, String denseMatch, int checkpointEvery, long seed) {

    public TrainConfig {
        if (neurons.length != depth) throw new IllegalArgumentException("one neuron count per level needed");
        if (seqLen < 8 || seqLen > context) throw new IllegalArgumentException("seqLen must be in [8, context]");
        if (batch < 1 || anchorSteps < 0 || memorySteps < 0) throw new IllegalArgumentException("bad schedule");
        if (genericProb < 0 || genericProb > 1) throw new IllegalArgumentException("genericProb must be in [0, 1]");
        if (rowsPerLeaf < 1 || batch % rowsPerLeaf != 0) {
            throw new IllegalArgumentException("rowsPerLeaf must divide the batch, got " + rowsPerLeaf + " for " + batch);
        }
        if (!denseMatch.equals("flops") && !denseMatch.equals("tokens")) {
            throw new IllegalArgumentException("denseMatch must be flops or tokens, got " + denseMatch);
        }
    }

    /** This configuration with another stage-2 length (the scaling study gives larger banks more steps). */
    public TrainConfig withMemorySteps(int steps) {
        return new TrainConfig(name, corpus, vocab, hidden, ffn, layers, heads, kvHeads, context, branching, depth, neurons,
                generic, minLeaf, seqLen, batch, anchorSteps, steps, lrAnchor, lrMemory, wdAnchor, wdMemory, warmup, clip,
                genericProb, rowsPerLeaf, denseScale, denseMatch, checkpointEvery, seed);
    }

    /** This configuration with another peak LR for the anchor (a baseline's LR sweep). */
    public TrainConfig withLrAnchor(double lr) {
        return new TrainConfig(name, corpus, vocab, hidden, ffn, layers, heads, kvHeads, context, branching, depth, neurons,
                generic, minLeaf, seqLen, batch, anchorSteps, memorySteps, lr, lrMemory, wdAnchor, wdMemory, warmup, clip,
                genericProb, rowsPerLeaf, denseScale, denseMatch, checkpointEvery, seed);
    }

    /** This configuration with another peak LR and weight decay for the memory blocks (their own sweep). */
    public TrainConfig withMemoryOptimizer(double lr, double wd) {
        if (!(lr > 0) || !(wd >= 0)) throw new IllegalArgumentException("memory LR must be > 0 and weight decay >= 0, got " + lr + ", " + wd);
        return new TrainConfig(name, corpus, vocab, hidden, ffn, layers, heads, kvHeads, context, branching, depth, neurons,
                generic, minLeaf, seqLen, batch, anchorSteps, memorySteps, lrAnchor, lr, wdAnchor, wd, warmup, clip,
                genericProb, rowsPerLeaf, denseScale, denseMatch, checkpointEvery, seed);
    }

    public int fetchedNeurons() {
        int r = 0;
        for (int n : neurons) r += n;
        return r;
    }

    /** Tokens seen by each stage. */
    public long tokens() {
        return (long) (anchorSteps + memorySteps) * batch * seqLen;
    }
}
