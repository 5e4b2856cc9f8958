/** Cluster-to-subtask placement: hierarchy-aware affinity with bounded loads. */
package dev.hmem.operators.routing;
