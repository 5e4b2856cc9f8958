/**
 * The local multi-process cluster: a Kafka broker, a Flink JobManager and TaskManagers as OS
 * processes on 127.0.0.1, configured from deploy/config.yaml, and the job submitted to it over
 * Flink's REST API.
 */
package dev.hmem.cli.cluster;
