/**
 * The serving engine behind the generate operator, free of Flink: block cache, batch scheduler,
 * and the thread that drives continuous batching.
 */
package dev.hmem.operators.engine;
