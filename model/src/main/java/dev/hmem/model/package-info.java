/** The memory-augmented language model, free of Flink. */
package dev.hmem.model;
