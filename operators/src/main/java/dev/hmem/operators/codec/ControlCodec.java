package dev.hmem.operators.codec;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.schemas.ControlReport;
import dev.hmem.schemas.ControlRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Control commands and status reports to and from Avro (single-object encoding, like results). Decoding never throws:
 * a record that is not a command becomes an {@link ControlCommand.Kind#INVALID} one that names the problem.
 */
public final class ControlCodec {

    private ControlCodec() {}

    public static byte[] encode(ControlCommand c) {
        ControlRequest r = ControlRequest.newBuilder().setRequestId(c.requestId()).setCommand(c.kind().wireName())
                .setVersion(c.version()).setBank(c.bank()).setAnchor(c.anchor()).setPaths(new ArrayList<>(c.paths()))
                .setIssuedAt(Instant.ofEpochMilli(c.issuedAt())).build();
        return ResultCodec.bytes(r::toByteBuffer);
    }

    /** The command at control-topic offset {@code seq}, checked; an {@code INVALID} one when it is not a command. */
    public static ControlCommand decode(byte[] value, long seq, long timestamp) {
        ControlRequest r;
        try {
            if (value == null || value.length == 0) return ControlCommand.invalid(seq, null, "empty control record");
            r = ControlRequest.fromByteBuffer(ByteBuffer.wrap(value));
        } catch (Exception e) {
            return ControlCommand.invalid(seq, null, "not a ControlRequest (single-object Avro): " + e.getMessage());
        }
        ControlCommand.Kind kind;
        try {
            kind = ControlCommand.Kind.valueOf(r.getCommand().toUpperCase(Locale.ROOT));
            if (kind == ControlCommand.Kind.INVALID) throw new IllegalArgumentException();
        } catch (IllegalArgumentException e) {
            return ControlCommand.invalid(seq, r.getRequestId(), "unknown command '" + r.getCommand()
                    + "' (known: activate, block, unblock)");
        }
        List<String> paths = new ArrayList<>();
        for (CharSequence p : r.getPaths()) paths.add(p.toString());
        long at = r.getIssuedAt() != null ? r.getIssuedAt().toEpochMilli() : timestamp;
        return new ControlCommand(seq, r.getRequestId(), kind, r.getVersion(), r.getBank(), r.getAnchor(), paths, at, null)
                .checked();
    }

    public static byte[] encode(ControlStatus s) {
        ControlReport r = ControlReport.newBuilder().setRequestId(s.requestId()).setCommand(s.command())
                .setOperator(s.operator()).setSubtask(s.subtask()).setParallelism(s.parallelism()).setState(s.state())
                .setVersion(s.version()).setDetail(s.detail()).setAt(Instant.ofEpochMilli(s.at())).build();
        return ResultCodec.bytes(r::toByteBuffer);
    }

    public static ControlStatus decodeStatus(byte[] value) {
        try {
            ControlReport r = ControlReport.fromByteBuffer(ByteBuffer.wrap(value));
            return new ControlStatus(r.getRequestId(), r.getCommand(), r.getOperator(), r.getSubtask(), r.getParallelism(),
                    r.getState(), r.getVersion(), r.getDetail(), r.getAt() == null ? 0 : r.getAt().toEpochMilli());
        } catch (IOException e) {
            throw new IllegalArgumentException("not a ControlReport: " + e.getMessage(), e);
        }
    }
}
