package dev.hmem.model.anchor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
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
final class VectorOps {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    static final int LANES = S.length();
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
    static void matmul(float[] x, int xOff, int n, int in, float[] w, int wOff, float[] y, int yOff, int yStride,
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

    /** The same product with the matrix in native memory (a tensor's bytes, little-endian f32), at byte {@code wOff}. */
    static void matmul(float[] x, int xOff, int n, int in, ByteBuffer w, long wOff, float[] y, int yOff, int yStride,
                       int from, int to, boolean accumulate) {
        for (int o = from; o < to; o++) {
            int wRow = (int) (wOff + 4L * o * in);
            int b = 0;
            for (; b + 4 <= n; b += 4) {
                int x0 = xOff + b * in;
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                for (int i = 0; i < in; i += LANES) {
                    FloatVector wv = FloatVector.fromByteBuffer(S, w, wRow + 4 * i, LE);
                    a0 = wv.fma(FloatVector.fromArray(S, x, x0 + i), a0);
                    a1 = wv.fma(FloatVector.fromArray(S, x, x0 + in + i), a1);
                    a2 = wv.fma(FloatVector.fromArray(S, x, x0 + 2 * in + i), a2);
                    a3 = wv.fma(FloatVector.fromArray(S, x, x0 + 3 * in + i), a3);
                }
                store(y, yOff + b * yStride + o, a0, accumulate);
                store(y, yOff + (b + 1) * yStride + o, a1, accumulate);
                store(y, yOff + (b + 2) * yStride + o, a2, accumulate);
                store(y, yOff + (b + 3) * yStride + o, a3, accumulate);
            }
            for (; b < n; b++) {
                int x0 = xOff + b * in;
                FloatVector a0 = FloatVector.zero(S);
                for (int i = 0; i < in; i += LANES) {
                    a0 = FloatVector.fromByteBuffer(S, w, wRow + 4 * i, LE).fma(FloatVector.fromArray(S, x, x0 + i), a0);
                }
                store(y, yOff + b * yStride + o, a0, accumulate);
            }
        }
    }

    private static void store(float[] y, int at, FloatVector acc, boolean accumulate) {
        float v = acc.reduceLanes(VectorOperators.ADD);
        y[at] = accumulate ? y[at] + v : v;
    }

    /** {@code y[b] += Σ_j h[b][j] · m[j]} over the r rows of {@code m} (r, d) in native memory: a transposed down projection. */
    static void addRowsCombination(float[] h, int hOff, int r, ByteBuffer m, long mOff, float[] y, int yOff, int d) {
        for (int j = 0; j < r; j++) {
            float c = h[hOff + j];
            if (c == 0f) continue;
            FloatVector cv = FloatVector.broadcast(S, c);
            int row = (int) (mOff + 4L * j * d);
            for (int i = 0; i < d; i += LANES) {
                FloatVector.fromByteBuffer(S, m, row + 4 * i, LE).fma(cv, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
            }
        }
    }

    /** RMSNorm of {@code n} rows of width d: {@code out = x / sqrt(mean(x²) + eps) * gain}. */
    static void rmsNorm(float[] x, int n, int d, float[] gain, float eps, float[] out) {
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

    /** {@code out[j] = silu(g[j]) · u[j]}, SwiGLU's gate. */
    static void swiglu(float[] g, int gOff, float[] u, int uOff, float[] out, int outOff, int n) {
        for (int j = 0; j < n; j++) {
            float a = g[gOff + j];
            out[outOff + j] = a / (1f + (float) Math.exp(-a)) * u[uOff + j];
        }
    }

    /** Dot product of {@code len} floats of an array and of native memory (a cached key). */
    static float dot(float[] a, int aOff, ByteBuffer b, int bOff, int len) {
        FloatVector acc = FloatVector.zero(S);
        for (int i = 0; i < len; i += LANES) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromByteBuffer(S, b, bOff + 4 * i, LE), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** {@code y += c · b} over {@code len} floats of native memory (a cached value). */
    static void axpy(float c, ByteBuffer b, int bOff, float[] y, int yOff, int len) {
        FloatVector cv = FloatVector.broadcast(S, c);
        for (int i = 0; i < len; i += LANES) {
            FloatVector.fromByteBuffer(S, b, bOff + 4 * i, LE).fma(cv, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
    }
}
