/** Commands to a running job through its control topic ({@code hmem swap}, {@code block}, {@code unblock}) and the wait for every subtask's report. */
package dev.hmem.cli.control;
