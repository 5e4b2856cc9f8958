/** Hierarchical, balanced k-means over document embeddings: the tree memories hang on. */
package dev.hmem.training.cluster;
