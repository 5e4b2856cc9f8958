/** Files and formats: safetensors reading and writing, element types, Hugging Face checkpoints. */
package dev.hmem.runtime.io;
