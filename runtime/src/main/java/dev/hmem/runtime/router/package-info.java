/** Prompt routing: MiniLM sentence embeddings and the greedy tree walk. */
package dev.hmem.runtime.router;
