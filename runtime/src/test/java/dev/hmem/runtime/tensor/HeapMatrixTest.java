package dev.hmem.runtime.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * bf16 weights: rounding to nearest even, the packed layout read back weight by weight, and the
 * bf16 kernel against the f32 kernel — bit for bit when the weights are already bf16 values (the
 * two kernels add the same products in the same order), over random shapes, batch sizes and output
 * ranges that cut the 4 x 2 tiles anywhere.
 */
class HeapMatrixTest {

    @Test
    void roundsToTheNearestBf16TiesToEven() {
        SplittableRandom r = new SplittableRandom(1);
        for (int t = 0; t < 200_000; t++) {
            float v = Float.intBitsToFloat(r.nextInt());
            if (!Float.isFinite(v) || Math.abs(v) > 1e37f) continue;
            int bits = HeapMatrix.bf16Bits(v);
            int down = Float.floatToRawIntBits(v) & 0xFFFF0000;
            float lo = Float.intBitsToFloat(down), hi = Float.intBitsToFloat(down + 0x10000);
            double dl = Math.abs((double) v - lo), dh = Math.abs((double) hi - v);
            int expected = dl < dh ? down >>> 16 : dh < dl ? (down + 0x10000) >>> 16 : ((down >>> 16) & 1) == 0 ? down >>> 16 : (down + 0x10000) >>> 16;
            assertThat(bits).as("bf16 of %s (bits %08x)", v, Float.floatToRawIntBits(v)).isEqualTo(expected);
        }
        // Exact ties: halfway between two bf16 values goes to the even one.
        assertThat(HeapMatrix.bf16Bits(Float.intBitsToFloat(0x3F808000))).isEqualTo(0x3F80);
        assertThat(HeapMatrix.bf16Bits(Float.intBitsToFloat(0x3F818000))).isEqualTo(0x3F82);
        assertThat(Float.isNaN(Float.intBitsToFloat(HeapMatrix.bf16Bits(Float.NaN) << 16))).isTrue();
    }

    @Test
    void packedWeightsReadBackAsTheirRoundedValues() {
        SplittableRandom r = new SplittableRandom(2);
        int out = 5, in = 48;
        float[] w = random(r, out * in);
        HeapMatrix m = HeapMatrix.of(w, out, in, WeightFormat.BF16);
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                float expected = Float.intBitsToFloat(HeapMatrix.bf16Bits(w[o * in + i]) << 16);
                assertThat(m.get(o, i)).as("(%d, %d)", o, i).isEqualTo(expected);
                assertThat(Math.abs(m.get(o, i) - w[o * in + i])).isLessThanOrEqualTo(Math.abs(w[o * in + i]) / 256f);
            }
        }
        assertThat(m.bytes()).isEqualTo(2L * out * in);
    }

    @Test
    void bf16KernelMatchesTheF32KernelOnBf16ValuesBitForBit() {
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 300; trial++) {
            int in = 16 * (1 + r.nextInt(8)), out = 1 + r.nextInt(23), n = 1 + r.nextInt(7);
            float[] w = random(r, out * in);
            for (int i = 0; i < w.length; i++) w[i] = Float.intBitsToFloat(HeapMatrix.bf16Bits(w[i]) << 16);
            float[] x = random(r, n * in + 3);
            int xOff = r.nextInt(4) == 0 ? 3 : 0;
            if (xOff == 3) System.arraycopy(x, 0, x, 3, n * in);
            int from = r.nextInt(out), to = from + 1 + r.nextInt(out - from);
            boolean accumulate = r.nextBoolean();
            float[] y32 = random(r, n * out), y16 = y32.clone();
            HeapMatrix.of(w, out, in, WeightFormat.F32).matmul(x, xOff, n, y32, 0, out, from, to, accumulate);
            HeapMatrix.of(w, out, in, WeightFormat.BF16).matmul(x, xOff, n, y16, 0, out, from, to, accumulate);
            assertThat(y16).as("trial %d: in %d out %d n %d range [%d, %d)", trial, in, out, n, from, to).containsExactly(y32);
        }
    }

    @Test
    void bf16OnArbitraryWeightsStaysWithinItsRoundingError() {
        SplittableRandom r = new SplittableRandom(4);
        int in = 512, out = 64, n = 3;
        float[] w = random(r, out * in), x = random(r, n * in), y32 = new float[n * out], y16 = new float[n * out];
        HeapMatrix.of(w, out, in, WeightFormat.F32).matmul(x, 0, n, y32, 0, out, 0, out, false);
        HeapMatrix.of(w, out, in, WeightFormat.BF16).matmul(x, 0, n, y16, 0, out, 0, out, false);
        for (int k = 0; k < y32.length; k++) {
            double bound = 0;  // Σ |w x| 2^-8: each weight moves by at most half a bf16 ulp, 2^-8 of itself
            int b = k / out, o = k % out;
            for (int i = 0; i < in; i++) bound += Math.abs(w[o * in + i] * x[b * in + i]) / 256;
            assertThat((double) Math.abs(y16[k] - y32[k])).isLessThanOrEqualTo(bound + 1e-4);
        }
    }

    @Test
    void bf16RefusesWidthsItCannotPack() {
        assertThatThrownBy(() -> HeapMatrix.of(new float[4 * 24], 4, 24, WeightFormat.BF16))
                .hasMessageContaining("multiple of 16").hasMessageContaining("24");
        assertThatThrownBy(() -> WeightFormat.parse("fp8")).hasMessageContaining("f32 or bf16").hasMessageContaining("fp8");
    }

    private static float[] random(SplittableRandom r, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }
}
