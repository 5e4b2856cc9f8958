/** Byte-level BPE: learning a vocabulary and writing it as a Hugging Face tokenizer.json. */
package dev.hmem.training.tokenizer;
