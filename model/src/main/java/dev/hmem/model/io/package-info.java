/** safetensors reading and writing, element types, checkpoints. */
package dev.hmem.model.io;
