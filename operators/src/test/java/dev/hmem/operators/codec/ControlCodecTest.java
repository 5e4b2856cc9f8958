package dev.hmem.operators.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ControlCodecTest {

    @Test
    void commandsAndReportsRoundTrip() {
        ControlCommand a = ControlCommand.activate(0, "req-1", "v2", "s3://bucket/bank", "/models/m");
        ControlCommand back = ControlCodec.decode(ControlCodec.encode(a), 42, 0);
        assertThat(back.kind()).isEqualTo(ControlCommand.Kind.ACTIVATE);
        assertThat(back.seq()).isEqualTo(42);
        assertThat(back).extracting(ControlCommand::requestId, ControlCommand::version, ControlCommand::bank, ControlCommand::anchor)
                .containsExactly("req-1", "v2", "s3://bucket/bank", "/models/m");
        ControlCommand b = ControlCodec.decode(ControlCodec.encode(ControlCommand.block(0, "r", ControlCommand.Kind.UNBLOCK,
                List.of("1.2", "generic"))), 3, 0);
        assertThat(b.kind()).isEqualTo(ControlCommand.Kind.UNBLOCK);
        assertThat(b.paths()).containsExactly("1.2", "generic");
        ControlStatus s = new ControlStatus("r", "activate", "generate", 1, 2, "ready", "v2", null, 123);
        assertThat(ControlCodec.decodeStatus(ControlCodec.encode(s))).isEqualTo(s);
    }

    /** Fuzz: damaged, truncated and random records become INVALID commands that say why; decoding never throws. */
    @Test
    void noRecordMakesDecodingThrow() {
        byte[] good = ControlCodec.encode(ControlCommand.block(0, "r", ControlCommand.Kind.BLOCK, List.of("1")));
        SplittableRandom rnd = new SplittableRandom(5);
        int invalid = 0;
        for (int i = 0; i < 5_000; i++) {
            byte[] b;
            switch (i % 3) {
                case 0 -> {
                    b = good.clone();
                    b[rnd.nextInt(b.length)] ^= (byte) (1 + rnd.nextInt(255));
                }
                case 1 -> b = java.util.Arrays.copyOf(good, rnd.nextInt(good.length));
                default -> {
                    b = new byte[rnd.nextInt(64)];
                    rnd.nextBytes(b);
                }
            }
            ControlCommand c = ControlCodec.decode(b, i, 0);
            assertThat(c.seq()).isEqualTo(i);
            if (c.kind() == ControlCommand.Kind.INVALID) {
                invalid++;
                assertThat(c.problem()).isNotBlank();
            }
        }
        assertThat(invalid).isGreaterThan(3_000);
        assertThat(ControlCodec.decode(null, 1, 0).problem()).contains("empty");
    }

    @Test
    void anUnknownCommandIsRefusedByName() {
        var r = dev.hmem.schemas.ControlRequest.newBuilder().setRequestId("x").setCommand("delete-everything").build();
        byte[] b;
        try {
            java.nio.ByteBuffer buf = r.toByteBuffer();
            b = new byte[buf.remaining()];
            buf.get(b);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        ControlCommand c = ControlCodec.decode(b, 0, 0);
        assertThat(c.kind()).isEqualTo(ControlCommand.Kind.INVALID);
        assertThat(c.problem()).contains("unknown command 'delete-everything'");
        assertThat(c.requestId()).isEqualTo("x");
    }
}
