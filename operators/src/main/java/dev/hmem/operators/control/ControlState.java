package dev.hmem.operators.control;

import java.io.Serializable;

/**
 * What one subtask keeps of the control commands, in its broadcast state: the last command applied (so a replay after
 * a restore is ignored), the version prompts are routed with, the one being loaded to replace it, and the block list.
 * Every subtask applies the same commands in the same order; a restart, a rescale or a savepoint restore resumes with
 * this, not with the command line's version. Immutable.
 *
 * @param loading the newest activate still being loaded and checked, or null; a newer activate replaces it
 * @param loadingRequest its command's request id: a restore that resumes the load reports under it
 */
public record ControlState(long lastSeq, ServedVersion active, ServedVersion loading, String loadingRequest, BlockList blocked)
        implements Serializable {

    public static ControlState initial(ServedVersion commandLine) {
        return new ControlState(-1, commandLine, null, null, BlockList.NONE);
    }

    /** Whether {@code c} is new here (a restore replays the commands after its checkpoint's offset). */
    public boolean isNew(ControlCommand c) {
        return c.seq() > lastSeq;
    }

    /** The state after command {@code c} (already {@linkplain ControlCommand#checked() checked}). */
    public ControlState apply(ControlCommand c) {
        return switch (c.kind()) {
            case ACTIVATE -> new ControlState(c.seq(), active,
                    new ServedVersion(c.version(), c.bank(), c.anchor() != null ? c.anchor() : active.anchor(), c.seq()),
                    c.requestId(), blocked);
            case BLOCK -> new ControlState(c.seq(), active, loading, loadingRequest, blocked.with(c.paths()));
            case UNBLOCK -> new ControlState(c.seq(), active, loading, loadingRequest, blocked.without(c.paths()));
            case INVALID -> new ControlState(c.seq(), active, loading, loadingRequest, blocked);
        };
    }

    /** {@code v} passed its checks: it serves from now on, unless a newer activate replaced it meanwhile. */
    public ControlState activated(ServedVersion v) {
        return v.sameAs(loading) ? new ControlState(lastSeq, v, null, null, blocked) : this;
    }

    /** {@code v} failed its checks: the serving version stays. */
    public ControlState refused(ServedVersion v) {
        return v.sameAs(loading) ? new ControlState(lastSeq, active, null, null, blocked) : this;
    }
}
