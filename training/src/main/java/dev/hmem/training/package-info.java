/**
 * Build-time code, never in the job jar: the corpus, clustering, tokenizer training, anchor and memory training,
 * evaluation, random banks. Depends on the runtime; nothing in the runtime depends on it.
 */
package dev.hmem.training;
