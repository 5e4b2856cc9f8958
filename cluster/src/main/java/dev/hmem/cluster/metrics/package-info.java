/** A Prometheus metrics reporter for Flink that listens on one address (the local cluster's loopback). */
package dev.hmem.cluster.metrics;
