/**
 * The hierarchical memory bank: what a memory block is ({@code FfnMemory}, {@code MemoryBlock}), its name
 * ({@code BlockId}, {@code MemoryPath}), the cluster tree, the on-disk format (manifest, reader, writer) and the
 * stores blocks are read from.
 */
package dev.hmem.runtime.bank;
