/**
 * The job's control plane: commands read from the control topic (activate a bank and anchor version, block or
 * unblock memories), the state every routing and generating subtask keeps of them (checkpointed as broadcast state),
 * and the status events they report. Free of the model: versions are names and locations here.
 */
package dev.hmem.operators.control;
