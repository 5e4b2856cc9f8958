/** Load generation against a running job (Poisson or bursty arrivals, Zipf popularity). */
package dev.hmem.cli.loadtest;
