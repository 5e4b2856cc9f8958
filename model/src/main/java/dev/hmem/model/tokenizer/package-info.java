/** Byte-level BPE: training a vocabulary and running Hugging Face tokenizers. */
package dev.hmem.model.tokenizer;
