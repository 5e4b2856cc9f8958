package dev.hmem.operators.control;

import java.io.Serializable;

/**
 * A bank and anchor served together under a label. Routing stamps each prompt with the version it routed with, and
 * the prompt is answered by that version alone: a subtask that has not loaded it yet loads it from these locations.
 *
 * @param label  what results carry in {@code served_version}: {@link #INITIAL} or an activate command's version
 * @param bank   the bank's location; null = the anchor serves alone
 * @param anchor the anchor directory
 * @param seq    the control-topic offset of the command that named it ({@code -1} for the command line's)
 */
public record ServedVersion(String label, String bank, String anchor, long seq) implements Serializable {

    /** The label of the bank and anchor the job was started with. */
    public static final String INITIAL = "initial";

    /** The longest label an activate may give (results carry it, and their size is bounded). */
    public static final int MAX_LABEL_CHARS = 128;

    public static ServedVersion initial(String bank, String anchor) {
        return new ServedVersion(INITIAL, bank, anchor, -1);
    }

    /** Whether {@code other} is the same version (the same label from the same command). */
    public boolean sameAs(ServedVersion other) {
        return other != null && label.equals(other.label) && seq == other.seq;
    }
}
