/** An in-process Kafka broker for the demo and the integration tests. */
package dev.hmem.cli.kafka;
