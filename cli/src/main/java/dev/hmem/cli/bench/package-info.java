/** Benchmarks that write their figures into docs/BENCHMARKS.md. */
package dev.hmem.cli.bench;
