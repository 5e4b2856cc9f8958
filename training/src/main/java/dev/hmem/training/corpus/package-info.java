/** The training corpus: long-tail facts at Zipf frequencies mixed with real prose. */
package dev.hmem.training.corpus;
