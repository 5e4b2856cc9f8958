package dev.hmem.runtime.tensor;

/**
 * One anchor matrix {@code (out, in)} on the heap in a {@link WeightFormat}, with the product the
 * Java decode path takes of it. bf16 weights are packed two to an int so that one 8-lane int load
 * yields two float vectors by a shift and a mask: int k of each run of 8 holds weight {@code i + k}
 * in its low half and {@code i + 8 + k} in its high half (i a multiple of 16), so both vectors line
 * up with plain, contiguous loads of the input — no shuffles in the inner loop.
 */
public final class HeapMatrix {

    final WeightFormat format;
    final int out, in;
    private final float[] f32;
    private final int[] bf16;

    private HeapMatrix(WeightFormat format, int out, int in, float[] f32, int[] bf16) {
        this.format = format;
        this.out = out;
        this.in = in;
        this.f32 = f32;
        this.bf16 = bf16;
    }

    /** {@code w} row-major {@code (out, in)}; bf16 needs {@code in} a multiple of 16 (two vectors). */
    public static HeapMatrix of(float[] w, int out, int in, WeightFormat format) {
        if ((long) out * in != w.length) throw new IllegalArgumentException("matrix of " + w.length + " values is not " + out + " x " + in);
        if (format == WeightFormat.F32) return new HeapMatrix(format, out, in, w, null);
        int step = 2 * VectorOps.LANES;
        if (in % step != 0) {
            throw new IllegalArgumentException("bf16 weights need an input width that is a multiple of " + step + ", got " + in);
        }
        int[] packed = new int[w.length / 2];
        int half = VectorOps.LANES;
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i += step) {
                int src = o * in + i, dst = (o * in + i) / 2;
                for (int k = 0; k < half; k++) {
                    packed[dst + k] = (bf16Bits(w[src + half + k]) << 16) | bf16Bits(w[src + k]);
                }
            }
        }
        return new HeapMatrix(format, out, in, null, packed);
    }

    /** The bf16 nearest to {@code v} (ties to even), as its 16 bits; NaN stays NaN. */
    static int bf16Bits(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (bits >>> 16) | 0x40;
        return (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16;
    }

    /** The weight at (o, i) as the kernels see it (for tests and accuracy reports). */
    float get(int o, int i) {
        if (f32 != null) return f32[o * in + i];
        int step = 2 * VectorOps.LANES, base = i - i % step, k = i % step;
        int word = bf16[(o * in + base) / 2 + k % VectorOps.LANES];
        return Float.intBitsToFloat(k < VectorOps.LANES ? word << 16 : word & 0xFFFF0000);
    }

    /** As {@link VectorOps#matmul(float[], int, int, int, float[], int, float[], int, int, int, int, boolean)}. */
    public void matmul(float[] x, int xOff, int n, float[] y, int yOff, int yStride, int from, int to, boolean accumulate) {
        if (f32 != null) {
            VectorOps.matmul(x, xOff, n, in, f32, 0, y, yOff, yStride, from, to, accumulate);
        } else {
            VectorOps.matmulBf16(x, xOff, n, in, bf16, y, yOff, yStride, from, to, accumulate);
        }
    }

    /** Bytes the matrix occupies on the heap. */
    long bytes() {
        return f32 != null ? 4L * f32.length : 4L * bf16.length;
    }
}
