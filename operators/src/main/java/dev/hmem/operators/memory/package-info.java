/** Where banks live: local disks, or any file system Flink can read (S3, HDFS). */
package dev.hmem.operators.memory;
