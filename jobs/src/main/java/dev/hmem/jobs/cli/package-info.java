/** The hmem command line. */
package dev.hmem.jobs.cli;
