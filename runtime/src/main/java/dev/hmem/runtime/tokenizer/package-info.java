/** The anchor's tokenizer: a Hugging Face tokenizer.json run by the Rust tokenizers library. */
package dev.hmem.runtime.tokenizer;
