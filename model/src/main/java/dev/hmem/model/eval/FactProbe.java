package dev.hmem.model.eval;

/**
 * A fact asked of the model: the probe's tokens, the answer's tokens that must follow, and how
 * often the fact was seen in training.
 */
record FactProbe(int factId, String relation, int[] prompt, int[] answer, int seen, float[] embedding) {}
