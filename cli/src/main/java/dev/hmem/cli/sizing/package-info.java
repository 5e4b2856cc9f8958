/**
 * Predicting the block cache before buying it: the bank's shape, how popular its leaves are, the cache budget and
 * the number of generate subtasks give each level's hit rate (Che's approximation for LRU, a frequency model for the
 * W-TinyLFU cache hmem runs), with and without hierarchy-aware placement. Pure arithmetic, no Flink and no model.
 */
package dev.hmem.cli.sizing;
