/** Reports and plots: the evaluation's tables and figures, the plotting style shared by the benchmarks. */
package dev.hmem.cli.report;
