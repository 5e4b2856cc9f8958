package dev.hmem.training.eval;

import dev.hmem.runtime.bank.MemoryPath;

/**
 * A fact asked of the model: the probe's tokens, the answer's tokens that must follow, the probe's
 * MiniLM embedding, and the leaf its subject's articles trained.
 */
record FactProbe(int factId, String relation, int[] prompt, int[] answer, float[] embedding, MemoryPath leaf) {}
