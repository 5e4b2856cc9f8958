/** Banks built rather than trained: random blocks and trees of any shape, for tests and benchmarks. */
package dev.hmem.training.bank;
