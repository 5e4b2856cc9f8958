/**
 * The memory branch of the feed-forward layers, in one place: given the rows of a batch and each row's blocks, the sum
 * over their extra SwiGLU neurons. PyTorch path: per group of rows ({@code MemoryPlan}), per level slab
 * ({@code LevelSlabs}, {@code PathSlab}, {@code SlabPlan}), per assembled path ({@code PathMemory}), row-batched for
 * training ({@code RowBatchedMemory}); Java path: {@code MemoryGroups} over heap copies ({@code HeapBlocks}).
 */
package dev.hmem.runtime.ffn;
