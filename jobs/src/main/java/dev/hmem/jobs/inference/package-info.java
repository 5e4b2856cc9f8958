/** The streaming inference job: options, Kafka connectors, workflow. */
package dev.hmem.jobs.inference;
