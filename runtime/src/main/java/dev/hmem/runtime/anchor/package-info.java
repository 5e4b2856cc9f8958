/** The Llama anchor: weights in the Hugging Face layout, the forward pass (PyTorch and Java decode paths), the KV cache. */
package dev.hmem.runtime.anchor;
