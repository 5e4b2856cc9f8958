/** The Llama anchor: weights in the Hugging Face layout, the forward pass, the KV cache. */
package dev.hmem.model.anchor;
