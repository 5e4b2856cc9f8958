/** The one-command demo: local Flink, in-process Kafka, the trained demo model. */
package dev.hmem.cli.demo;
