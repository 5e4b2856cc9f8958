/** Long-tail evaluation: fact accuracy by training frequency under memory conditions. */
package dev.hmem.training.eval;
