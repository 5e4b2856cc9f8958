/** The job's Flink operators, one per file; each a thin wrapper over model or engine code. */
package dev.hmem.operators.functions;
