/**
 * Tensor kernels both decode paths use: PyTorch's fused operations through DJL ({@code Ops}, {@code Tensors}) and
 * the Java Vector API's ({@code VectorOps}, {@code HeapMatrix} in f32 or bf16, {@code Parallel} thread splits).
 */
package dev.hmem.runtime.tensor;
