/**
 * What a TaskManager runs, free of Flink, in layers that only import downwards:
 * {@code io} (files, formats) and {@code config} → {@code tensor} (kernels) and {@code tokenizer} →
 * {@code bank} (blocks, tree, stores) → {@code ffn} (the memory branch) → {@code anchor} (the Llama) →
 * {@code router} and {@code generate}. docs/DESIGN.md draws the picture.
 */
package dev.hmem.runtime;
