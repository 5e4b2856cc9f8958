/** Batched generation: continuous batching across memories, sampling, stopping. */
package dev.hmem.runtime.generate;
