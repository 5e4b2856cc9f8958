/** Avro at the Kafka edges: decoding prompts, encoding results and dead letters. */
package dev.hmem.operators.codec;
