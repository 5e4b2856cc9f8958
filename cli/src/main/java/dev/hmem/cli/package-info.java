/** The hmem command line. */
package dev.hmem.cli;
