package dev.hmem.runtime.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels of the small-batch decode path, on the JDK's Vector API (SIMD lanes, FMA). A decode
 * step at a small batch is bound by streaming the weights from memory: these kernels read each
 * weight row once and use it for up to four batch rows held in registers, with no per-operation
 * cost beyond a method call. Every batch row is computed with the same arithmetic in the same
 * order whatever the batch, so a row's result does not depend on its neighbours.
 *
 * <p>Matrices are row-major {@code (out, in)} as the checkpoint stores them; {@code in} must be a
 * multiple of the lane count (8 for 256-bit vectors), as every width of a Llama model is.
 */
public final class VectorOps {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    public static final int LANES = S.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private VectorOps() {}

    /**
     * {@code y[b][o] (+)= Σ_i x[b][i] · w[o][i]} for rows {@code b < n} and outputs {@code o} in
     * {@code [from, to)}; x is {@code (n, in)} at {@code xOff}, w {@code (out, in)} at {@code wOff},
     * y row b starts at {@code yOff + b * yStride}.
     *
     * <p>Register tiles of 4 outputs x 2 rows: each loaded weight vector serves 2 rows and each
     * input vector 4 outputs, and the 4 weight rows (at most 24 KiB) stay in L1 while every row of
     * x streams past them, so x is read from L2 once per 4 outputs rather than once per output
     * (measured at batch 32: about twice the rate of 1 output x 4 rows).
     */
    public static void matmul(float[] x, int xOff, int n, int in, float[] w, int wOff, float[] y, int yOff, int yStride,
                       int from, int to, boolean accumulate) {
        int o = from;
        for (; o + 4 <= to; o += 4) {
            int w0 = wOff + o * in, w1 = w0 + in, w2 = w1 + in, w3 = w2 + in;
            int b = 0;
            for (; b + 2 <= n; b += 2) {
                int x0 = xOff + b * in, x1 = x0 + in;
                FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
                FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                for (int i = 0; i < in; i += LANES) {
                    FloatVector v0 = FloatVector.fromArray(S, x, x0 + i), v1 = FloatVector.fromArray(S, x, x1 + i);
                    FloatVector u = FloatVector.fromArray(S, w, w0 + i);
                    a00 = u.fma(v0, a00);
                    a10 = u.fma(v1, a10);
                    u = FloatVector.fromArray(S, w, w1 + i);
                    a01 = u.fma(v0, a01);
                    a11 = u.fma(v1, a11);
                    u = FloatVector.fromArray(S, w, w2 + i);
                    a02 = u.fma(v0, a02);
                    a12 = u.fma(v1, a12);
                    u = FloatVector.fromArray(S, w, w3 + i);
                    a03 = u.fma(v0, a03);
                    a13 = u.fma(v1, a13);
                }
                int y0 = yOff + b * yStride + o, y1 = y0 + yStride;
                store(y, y0, a00, accumulate);
                store(y, y0 + 1, a01, accumulate);
                store(y, y0 + 2, a02, accumulate);
                store(y, y0 + 3, a03, accumulate);
                store(y, y1, a10, accumulate);
                store(y, y1 + 1, a11, accumulate);
                store(y, y1 + 2, a12, accumulate);
                store(y, y1 + 3, a13, accumulate);
            }
            for (; b < n; b++) {
                int x0 = xOff + b * in;
                FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
                for (int i = 0; i < in; i += LANES) {
                    FloatVector v0 = FloatVector.fromArray(S, x, x0 + i);
                    a00 = FloatVector.fromArray(S, w, w0 + i).fma(v0, a00);
                    a01 = FloatVector.fromArray(S, w, w1 + i).fma(v0, a01);
                    a02 = FloatVector.fromArray(S, w, w2 + i).fma(v0, a02);
                    a03 = FloatVector.fromArray(S, w, w3 + i).fma(v0, a03);
                }
                int y0 = yOff + b * yStride + o;
                store(y, y0, a00, accumulate);
                store(y, y0 + 1, a01, accumulate);
                store(y, y0 + 2, a02, accumulate);
                store(y, y0 + 3, a03, accumulate);
            }
        }
        for (; o < to; o++) {
            int w0 = wOff + o * in;
            for (int b = 0; b < n; b++) {
                int x0 = xOff + b * in;
                FloatVector a00 = FloatVector.zero(S);
                for (int i = 0; i < in; i += LANES) {
                    a00 = FloatVector.fromArray(S, w, w0 + i).fma(FloatVector.fromArray(S, x, x0 + i), a00);
                }
                store(y, yOff + b * yStride + o, a00, accumulate);
            }
        }
    }

    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_256;
    /** The high bf16 of each int, as an f32's bits. */
    private static final IntVector HI = IntVector.broadcast(IS, 0xFFFF0000);

    /**
     * The product of {@link #matmul(float[], int, int, int, float[], int, float[], int, int, int, int, boolean)}
     * with bf16 weights packed as {@link HeapMatrix} packs them: each int load gives the weights of
     * 16 inputs, widened to f32 by a shift (low halves) and a mask (high halves), each used for 2
     * rows; the same 4 x 2 register tiles, accumulation in f32. The widening is written out in
     * place, not in helper methods: a helper that the JIT happens to compile on its own first is
     * then not inlined, and every vector it returns is boxed (measured: 5x slower than f32).
     */
    static void matmulBf16(float[] x, int xOff, int n, int in, int[] w, float[] y, int yOff, int yStride,
                           int from, int to, boolean accumulate) {
        int half = in / 2;
        int o = from;
        for (; o + 4 <= to; o += 4) {
            int w0 = o * half, w1 = w0 + half, w2 = w1 + half, w3 = w2 + half;
            int b = 0;
            for (; b + 2 <= n; b += 2) {
                int x0 = xOff + b * in, x1 = x0 + in;
                FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
                FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                for (int i = 0, p = 0; i < in; i += 2 * LANES, p += LANES) {
                    FloatVector v0 = FloatVector.fromArray(S, x, x0 + i), v0h = FloatVector.fromArray(S, x, x0 + i + LANES);
                    FloatVector v1 = FloatVector.fromArray(S, x, x1 + i), v1h = FloatVector.fromArray(S, x, x1 + i + LANES);
                    IntVector q = IntVector.fromArray(IS, w, w0 + p);
                    FloatVector u = q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), uh = q.and(HI).reinterpretAsFloats();
                    a00 = uh.fma(v0h, u.fma(v0, a00));
                    a10 = uh.fma(v1h, u.fma(v1, a10));
                    q = IntVector.fromArray(IS, w, w1 + p);
                    u = q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    uh = q.and(HI).reinterpretAsFloats();
                    a01 = uh.fma(v0h, u.fma(v0, a01));
                    a11 = uh.fma(v1h, u.fma(v1, a11));
                    q = IntVector.fromArray(IS, w, w2 + p);
                    u = q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    uh = q.and(HI).reinterpretAsFloats();
                    a02 = uh.fma(v0h, u.fma(v0, a02));
                    a12 = uh.fma(v1h, u.fma(v1, a12));
                    q = IntVector.fromArray(IS, w, w3 + p);
                    u = q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    uh = q.and(HI).reinterpretAsFloats();
                    a03 = uh.fma(v0h, u.fma(v0, a03));
                    a13 = uh.fma(v1h, u.fma(v1, a13));
                }
                int y0 = yOff + b * yStride + o, y1 = y0 + yStride;
                store(y, y0, a00, accumulate);
                store(y, y0 + 1, a01, accumulate);
                store(y, y0 + 2, a02, accumulate);
                store(y, y0 + 3, a03, accumulate);
                store(y, y1, a10, accumulate);
                store(y, y1 + 1, a11, accumulate);
                store(y, y1 + 2, a12, accumulate);
                store(y, y1 + 3, a13, accumulate);
            }
            for (; b < n; b++) {
                int x0 = xOff + b * in;
                FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
                for (int i = 0, p = 0; i < in; i += 2 * LANES, p += LANES) {
                    FloatVector v0 = FloatVector.fromArray(S, x, x0 + i), v0h = FloatVector.fromArray(S, x, x0 + i + LANES);
                    IntVector q = IntVector.fromArray(IS, w, w0 + p);
                    a00 = q.and(HI).reinterpretAsFloats().fma(v0h, q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(v0, a00));
                    q = IntVector.fromArray(IS, w, w1 + p);
                    a01 = q.and(HI).reinterpretAsFloats().fma(v0h, q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(v0, a01));
                    q = IntVector.fromArray(IS, w, w2 + p);
                    a02 = q.and(HI).reinterpretAsFloats().fma(v0h, q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(v0, a02));
                    q = IntVector.fromArray(IS, w, w3 + p);
                    a03 = q.and(HI).reinterpretAsFloats().fma(v0h, q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(v0, a03));
                }
                int y0 = yOff + b * yStride + o;
                store(y, y0, a00, accumulate);
                store(y, y0 + 1, a01, accumulate);
                store(y, y0 + 2, a02, accumulate);
                store(y, y0 + 3, a03, accumulate);
            }
        }
        for (; o < to; o++) {
            int w0 = o * half;
            for (int b = 0; b < n; b++) {
                int x0 = xOff + b * in;
                FloatVector a00 = FloatVector.zero(S);
                for (int i = 0, p = 0; i < in; i += 2 * LANES, p += LANES) {
                    IntVector q = IntVector.fromArray(IS, w, w0 + p);
                    a00 = q.and(HI).reinterpretAsFloats().fma(FloatVector.fromArray(S, x, x0 + i + LANES), q.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(S, x, x0 + i), a00));
                }
                store(y, yOff + b * yStride + o, a00, accumulate);
            }
        }
    }

    private static void store(float[] y, int at, FloatVector acc, boolean accumulate) {
        float v = acc.reduceLanes(VectorOperators.ADD);
        y[at] = accumulate ? y[at] + v : v;
    }

    /**
     * {@code y[rows[k]] += Σ_j h[k][j] · m[j]} for the n rows of {@code h} (n, r, at {@code hOff}), with {@code m}
     * (r, d) at {@code mOff} — a memory block's down projection (its heap copy), stored
     * transposed — over columns {@code [from, to)} (multiples of the lane count). Tiles of 4 rows x
     * 2 column vectors: each vector read from {@code m} serves 4 rows, where a row at a time read the
     * whole matrix once per row sharing the block (at batch 32 on one path, 32 times a layer). Each
     * row's sum runs over j in order and is added to y once, whatever the other rows.
     */
    public static void addRowsCombination(float[] h, int hOff, int n, int r, float[] m, int mOff, float[] y, int[] rows, int d,
                                   int from, int to) {
        int c = from;
        for (; c + 2 * LANES <= to; c += 2 * LANES) {
            int k = 0;
            for (; k + 4 <= n; k += 4) {
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                int h0 = hOff + k * r, h1 = h0 + r, h2 = h1 + r, h3 = h2 + r;
                for (int j = 0; j < r; j++) {
                    int at = mOff + j * d + c;
                    FloatVector u = FloatVector.fromArray(S, m, at), v = FloatVector.fromArray(S, m, at + LANES);
                    FloatVector g = FloatVector.broadcast(S, h[h0 + j]);
                    a0 = u.fma(g, a0);
                    b0 = v.fma(g, b0);
                    g = FloatVector.broadcast(S, h[h1 + j]);
                    a1 = u.fma(g, a1);
                    b1 = v.fma(g, b1);
                    g = FloatVector.broadcast(S, h[h2 + j]);
                    a2 = u.fma(g, a2);
                    b2 = v.fma(g, b2);
                    g = FloatVector.broadcast(S, h[h3 + j]);
                    a3 = u.fma(g, a3);
                    b3 = v.fma(g, b3);
                }
                addInto(y, rows[k] * d + c, a0, b0);
                addInto(y, rows[k + 1] * d + c, a1, b1);
                addInto(y, rows[k + 2] * d + c, a2, b2);
                addInto(y, rows[k + 3] * d + c, a3, b3);
            }
            for (; k < n; k++) {
                FloatVector a0 = FloatVector.zero(S), b0 = a0;
                for (int j = 0; j < r; j++) {
                    int at = mOff + j * d + c;
                    FloatVector g = FloatVector.broadcast(S, h[hOff + k * r + j]);
                    a0 = FloatVector.fromArray(S, m, at).fma(g, a0);
                    b0 = FloatVector.fromArray(S, m, at + LANES).fma(g, b0);
                }
                addInto(y, rows[k] * d + c, a0, b0);
            }
        }
        for (; c < to; c += LANES) {
            for (int k = 0; k < n; k++) {
                FloatVector a0 = FloatVector.zero(S);
                for (int j = 0; j < r; j++) {
                    a0 = FloatVector.fromArray(S, m, mOff + j * d + c)
                            .fma(FloatVector.broadcast(S, h[hOff + k * r + j]), a0);
                }
                int at = rows[k] * d + c;
                FloatVector.fromArray(S, y, at).add(a0).intoArray(y, at);
            }
        }
    }

    private static void addInto(float[] y, int at, FloatVector lo, FloatVector hi) {
        FloatVector.fromArray(S, y, at).add(lo).intoArray(y, at);
        FloatVector.fromArray(S, y, at + LANES).add(hi).intoArray(y, at + LANES);
    }

    /** RMSNorm of {@code n} rows of width d: {@code out = x / sqrt(mean(x²) + eps) * gain}. */
    public static void rmsNorm(float[] x, int n, int d, float[] gain, float eps, float[] out) {
        for (int b = 0; b < n; b++) {
            int o = b * d;
            FloatVector ss = FloatVector.zero(S);
            for (int i = 0; i < d; i += LANES) {
                FloatVector v = FloatVector.fromArray(S, x, o + i);
                ss = v.fma(v, ss);
            }
            float inv = (float) (1.0 / Math.sqrt(ss.reduceLanes(VectorOperators.ADD) / d + eps));
            FloatVector iv = FloatVector.broadcast(S, inv);
            for (int i = 0; i < d; i += LANES) {
                FloatVector.fromArray(S, x, o + i).mul(FloatVector.fromArray(S, gain, i)).mul(iv).intoArray(out, o + i);
            }
        }
    }

    /**
     * {@code out[j] = silu(g[j]) · u[j]}, SwiGLU's gate. Vectorised (the JDK's SIMD exp, within an
     * ulp or two of {@link Math#exp}): scalar, this ran on the calling thread alone at ~6 ns an
     * element, about a tenth of a batch-32 step; a tail shorter than a vector stays scalar.
     */
    public static void swiglu(float[] g, int gOff, float[] u, int uOff, float[] out, int outOff, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        int j = 0;
        for (; j + LANES <= n; j += LANES) {
            FloatVector a = FloatVector.fromArray(S, g, gOff + j);
            a.div(a.neg().lanewise(VectorOperators.EXP).add(one)).mul(FloatVector.fromArray(S, u, uOff + j)).intoArray(out, outOff + j);
        }
        for (; j < n; j++) {
            float a = g[gOff + j];
            out[outOff + j] = a / (1f + (float) Math.exp(-a)) * u[uOff + j];
        }
    }

    /** Dot product of {@code len} floats of an array and of native memory (a cached key). */
    public static float dot(float[] a, int aOff, ByteBuffer b, int bOff, int len) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < len; i += LANES) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromByteBuffer(S, b, bOff + 4 * i, LE), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** {@code y += c · b} over {@code len} floats of native memory (a cached value). */
    public static void axpy(float c, ByteBuffer b, int bOff, float[] y, int yOff, int len) {
        FloatVector cv = FloatVector.broadcast(S, c);
        for (int i = 0; i < len; i += LANES) {
            FloatVector.fromByteBuffer(S, b, bOff + 4 * i, LE).fma(cv, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
    }
}
