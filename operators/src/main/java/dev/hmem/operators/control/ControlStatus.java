package dev.hmem.operators.control;

import java.io.Serializable;
import org.apache.flink.util.OutputTag;

/**
 * One subtask's report on a control command, for the status topic: a client ({@code hmem swap}) waits until
 * {@code parallelism} subtasks of each operator have reported.
 *
 * @param state loading, active, ready, refused, applied or released (see the ControlReport schema)
 */
public record ControlStatus(String requestId, String command, String operator, int subtask, int parallelism,
                            String state, String version, String detail, long at) implements Serializable {

    /** Where operators emit their reports. */
    public static final OutputTag<ControlStatus> TAG = new OutputTag<>("control-status") {};

    public static ControlStatus of(ControlCommand c, String operator, int subtask, int parallelism, String state,
                                   String version, String detail) {
        return new ControlStatus(c.requestId(), c.kind().wireName(), operator, subtask, parallelism, state, version,
                detail, System.currentTimeMillis());
    }
}
