package dev.hmem.operators.engine;

import dev.hmem.runtime.bank.BlockId;

/** A memory block that failed its checksum or its read, and is not read again for a while. */
public final class QuarantinedBlockException extends RuntimeException {

    private final BlockId block;
    private final String reason;

    public QuarantinedBlockException(BlockId block, String reason) {
        super("memory block " + block + " is quarantined: " + reason, null, false, false);
        this.block = block;
        this.reason = reason;
    }

    public BlockId block() {
        return block;
    }

    public String reason() {
        return reason;
    }
}
