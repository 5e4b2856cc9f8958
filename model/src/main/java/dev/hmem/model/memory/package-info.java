/** The hierarchical memory bank: format, blocks, tree, stores, and batching across memories. */
package dev.hmem.model.memory;
