package dev.hmem.runtime.tensor;

import java.util.Locale;

/**
 * How the Java decode path holds the anchor's matrices on the heap. A small decode batch is bound
 * by streaming the weights from memory, so halving their bytes is the one change that can speed it
 * up beyond the memory bus; the arithmetic stays f32 (each bf16 weight widened exactly, products
 * accumulated in f32). Checkpoints, the PyTorch path, embeddings, norms and memory blocks stay f32.
 */
public enum WeightFormat {
    /** The checkpoint's f32 weights, unchanged: the reference, and the default. */
    F32,
    /**
     * bfloat16 (the top 16 bits of an f32, rounded to nearest even): 8 bits of mantissa, so a
     * weight moves by at most 2^-9 of itself; half the bytes per decode step.
     */
    BF16;

    public static WeightFormat parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> F32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new IllegalArgumentException("weight format must be f32 or bf16, got '" + s + "'");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
