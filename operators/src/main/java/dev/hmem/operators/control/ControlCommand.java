package dev.hmem.operators.control;

import java.io.Serializable;
import java.util.List;

/**
 * One command from the control topic, or the reason a record there is not one ({@link Kind#INVALID}): a bad control
 * record is reported on the status topic and skipped, it never stops the job.
 *
 * @param seq       its control-topic offset: every subtask sees commands in this order, and a replay after a restore
 *                  (offsets at or below the state's last) is ignored
 * @param requestId echoed in the status events
 * @param version   activate: the new version's label
 * @param bank      activate: the bank's location
 * @param anchor    activate: a new anchor directory, or null to keep the serving one
 * @param paths     block / unblock: subtrees ("3", "3.11") or "generic"
 * @param problem   {@link Kind#INVALID}: what is wrong with the record
 */
public record ControlCommand(long seq, String requestId, Kind kind, String version, String bank, String anchor,
                             List<String> paths, long issuedAt, String problem) implements Serializable {

    public enum Kind {
        ACTIVATE, BLOCK, UNBLOCK, INVALID;

        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public ControlCommand {
        paths = paths == null ? List.of() : List.copyOf(paths);
    }

    public static ControlCommand activate(long seq, String requestId, String version, String bank, String anchor) {
        return new ControlCommand(seq, requestId, Kind.ACTIVATE, version, bank, anchor, List.of(), System.currentTimeMillis(), null);
    }

    public static ControlCommand block(long seq, String requestId, Kind kind, List<String> paths) {
        return new ControlCommand(seq, requestId, kind, null, null, null, paths, System.currentTimeMillis(), null);
    }

    public static ControlCommand invalid(long seq, String requestId, String problem) {
        return new ControlCommand(seq, requestId == null ? "" : requestId, Kind.INVALID, null, null, null, List.of(),
                System.currentTimeMillis(), problem);
    }

    /**
     * This command checked for what every subtask would refuse alike (an activate without a bank or label, a block
     * without paths or with a malformed one): the same command, or an {@link Kind#INVALID} one saying why.
     */
    public ControlCommand checked() {
        String why = switch (kind) {
            case ACTIVATE -> version == null || version.isBlank() ? "activate needs a version label"
                    : version.equals(ServedVersion.INITIAL) ? "'" + ServedVersion.INITIAL + "' names the job's command-line version; choose another label"
                    : version.length() > ServedVersion.MAX_LABEL_CHARS ? "a version label has at most " + ServedVersion.MAX_LABEL_CHARS + " characters"
                    : bank == null || bank.isBlank() ? "activate needs a bank location" : null;
            case BLOCK, UNBLOCK -> paths.isEmpty() ? kind.wireName() + " needs at least one path" : BlockList.problem(paths);
            case INVALID -> null;
        };
        return why == null ? this : invalid(seq, requestId, why);
    }
}
