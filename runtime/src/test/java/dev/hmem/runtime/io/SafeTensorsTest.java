package dev.hmem.runtime.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @Test
    void roundTripsAllFloatTypes(@TempDir Path dir) throws Exception {
        float[] v = {0f, -0f, 1f, -2.5f, 3.14159f, 65504f, 1e-3f, -1e-7f, 123.456f};
        for (DType t : List.of(DType.F32, DType.BF16, DType.F16)) {
            Path f = dir.resolve(t + ".safetensors");
            SafeTensorsWriter.writeAll(f, Map.of("k", "v"),
                    List.of(new SafeTensorsWriter.Entry("x", t, new long[] {3, 3})), List.of(v));
            try (SafeTensorsFile st = SafeTensorsFile.open(f)) {
                assertThat(st.metadata()).containsEntry("k", "v");
                assertThat(st.dataStart() % 8).isZero();
                TensorInfo info = st.info("x");
                assertThat(info.shape()).containsExactly(3, 3);
                float[] back = st.readFloats(info);
                for (int i = 0; i < v.length; i++) {
                    double tol = t == DType.F32 ? 0 : Math.abs(v[i]) * (t == DType.BF16 ? 4e-3 : 1e-3) + 1e-7;
                    assertThat((double) back[i]).as("%s %s", t, v[i]).isCloseTo(v[i], org.assertj.core.data.Offset.offset(tol));
                }
            }
        }
    }

    @Test
    void halfPrecisionConversionsMatchKnownBitPatterns() {
        assertThat(DType.halfToFloat((short) 0x3c00)).isEqualTo(1f);
        assertThat(DType.halfToFloat((short) 0xc000)).isEqualTo(-2f);
        assertThat(DType.halfToFloat((short) 0x7bff)).isEqualTo(65504f);
        assertThat(DType.halfToFloat((short) 0x0001)).isEqualTo(5.9604645e-8f);
        assertThat(DType.floatToHalf(1f)).isEqualTo((short) 0x3c00);
        assertThat(DType.floatToHalf(1e6f)).isEqualTo((short) 0x7c00);  // overflow -> inf
        assertThat(DType.floatToBf16(1f)).isEqualTo((short) 0x3f80);
        assertThat(Float.isNaN(DType.halfToFloat(DType.floatToHalf(Float.NaN)))).isTrue();
    }

    @Test
    void corruptHeadersAreClearErrors(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafeTensorsFile.open(f)).hasMessageContaining("too short");

        byte[] json = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Files.write(f, b.array());
        assertThatThrownBy(() -> SafeTensorsFile.open(f)).hasMessageContaining("'x'").hasMessageContaining("needs 16 bytes");

        b.clear();
        b.putLong(1L << 40);
        Files.write(f, b.array());
        assertThatThrownBy(() -> SafeTensorsFile.open(f)).hasMessageContaining("invalid header length");
    }

    @Test
    void interruptedWriteLeavesNoFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("partial.safetensors");
        SafeTensorsWriter w = SafeTensorsWriter.create(f, Map.of(),
                List.of(new SafeTensorsWriter.Entry("x", DType.F32, new long[] {4})));
        w.writeFloats(new float[] {1, 2}, DType.F32);
        assertThatThrownBy(w::close).hasMessageContaining("incomplete");
        assertThat(f).doesNotExist();
    }
}
