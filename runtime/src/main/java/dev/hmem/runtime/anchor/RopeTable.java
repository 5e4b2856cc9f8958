package dev.hmem.runtime.anchor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.config.ModelConfig;

/**
 * Rotary position embedding in the Hugging Face Llama convention ("rotate half": dimension i is
 * paired with i + hd/2). {@code rope(x) = x * cos + (x @ R) * sin}, where R is the fixed
 * permutation-with-sign matrix of rotate_half; one small matmul replaces four slicing ops.
 */
public final class RopeTable {

    final NDArray cos;     // (positions, hd)
    final NDArray sin;     // (positions, hd)
    final NDArray rotate;  // (hd, hd): x @ rotate == cat(-x2, x1)
    final int positions;

    RopeTable(ModelConfig c, int positions, NDManager manager) {
        int hd = c.headDim(), half = hd / 2;
        this.positions = positions;
        float[] cosV = new float[positions * hd];
        float[] sinV = new float[positions * hd];
        for (int i = 0; i < half; i++) {
            double invFreq = 1.0 / Math.pow(c.ropeTheta(), 2.0 * i / hd);
            if (c.ropeScaling() != null) invFreq = c.ropeScaling().scale(invFreq);
            for (int p = 0; p < positions; p++) {
                double angle = p * invFreq;
                float cs = (float) Math.cos(angle), sn = (float) Math.sin(angle);
                cosV[p * hd + i] = cs;
                cosV[p * hd + i + half] = cs;
                sinV[p * hd + i] = sn;
                sinV[p * hd + i + half] = sn;
            }
        }
        float[] r = new float[hd * hd];
        for (int i = 0; i < half; i++) {
            r[(i + half) * hd + i] = -1f;  // out[i] = -x[i + half]
            r[i * hd + i + half] = 1f;     // out[i + half] = x[i]
        }
        cos = manager.create(cosV, new Shape(positions, hd));
        sin = manager.create(sinV, new Shape(positions, hd));
        rotate = manager.create(r, new Shape(hd, hd));
    }

    /** Rotates {@code x} (n, T, heads, hd) given per-token cos/sin already shaped (n, T, 1, hd). */
    static NDArray apply(NDArray x, NDArray cosAt, NDArray sinAt, NDArray rotate) {
        return x.mul(cosAt).add(x.matMul(rotate).mul(sinAt));
    }
}
