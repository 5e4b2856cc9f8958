/** Training anchor and memories with DJL autograd: stages, sparse AdamW, checkpoints. */
package dev.hmem.training.train;
