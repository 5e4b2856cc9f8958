/** Java records passed between the job's operators; Avro only appears at the Kafka edges. */
package dev.hmem.operators.records;
