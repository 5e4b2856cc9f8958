/**
 * Where the served model comes from: banks on local disks or any file system Flink can read (S3, HDFS), opened with
 * the anchor they were trained for ({@code ServingModel}, the one place an engine is opened).
 */
package dev.hmem.operators.memory;
