package dev.hmem.runtime.bank;

import ai.djl.ndarray.NDArray;

/**
 * Extra SwiGLU neurons for every layer of the anchor: {@code r} rows of gate and up projection
 * and {@code r} columns of down projection per layer (PAPER.md, FFN memories).
 */
public interface FfnMemory {

    /** r, the neurons this memory adds to each layer. */
    int neurons();

    /** (2r, d): gate rows then up rows of {@code layer}, laid out like the anchor's fused gate/up. */
    NDArray gateUp(int layer);

    /** (r, d): the transposed down projection of {@code layer}, so {@code act @ downT} is (.., d). */
    NDArray downT(int layer);

    /** (L, 3, r, d), every layer's gate, up and transposed down rows in one array, or null if not held so. */
    default NDArray data() {
        return null;
    }
}
