package dev.hmem.runtime.ffn;

import ai.djl.ndarray.NDArray;

/**
 * The memory part of a batch's feed-forward layers: given the normalised FFN input h (n, T, d) of
 * a layer, the sum over each row's memory neurons, or null when no row has memory. Built once per
 * forward pass and used by every layer.
 */
public interface MemoryBranch {

    NDArray apply(int layer, NDArray h);

    MemoryBranch NONE = (layer, h) -> null;

    /** Both branches (they cover different rows, or different neurons of the same rows). */
    static MemoryBranch sum(MemoryBranch a, MemoryBranch b) {
        if (a == NONE) return b;
        if (b == NONE) return a;
        return (layer, h) -> {
            NDArray x = a.apply(layer, h), y = b.apply(layer, h);
            return x == null ? y : y == null ? x : x.add(y);
        };
    }
}
