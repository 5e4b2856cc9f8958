package dev.hmem.runtime.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/** The few fused kernels the decoder needs beyond DJL's generic NDArray API. */
public final class Ops {

    private Ops() {}

    /** {@code x @ w^T} with {@code w} stored (out, in) as in Hugging Face checkpoints. */
    public static NDArray linear(NDArray x, NDArray w) {
        return JniUtils.linear((PtNDArray) x, (PtNDArray) w, null);
    }

    /** RMSNorm: {@code x / sqrt(mean(x^2) + eps) * gain} over the last axis. */
    public static NDArray rmsNorm(NDArray x, NDArray gain, NDArray eps) {
        NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return x.mul(gain).div(rms);
    }

    /** Rows {@code index} (1-D, int64) of a 2-D {@code table}: an embedding lookup, i.e. index_select on axis 0. */
    public static NDArray rows(NDArray table, NDArray index) {
        return JniUtils.embedding((PtNDArray) index, (PtNDArray) table, false);
    }

    /** Splits the last axis into two equal halves (gate and up of a fused projection); views. */
    public static NDList halves(NDArray x) {
        return x.split(2, x.getShape().dimension() - 1);
    }

    /** SwiGLU's gate: {@code silu(g) * u = g * sigmoid(g) * u}. */
    public static NDArray swiglu(NDArray g, NDArray u) {
        return g.mul(JniUtils.sigmoid((PtNDArray) g)).mul(u);
    }
}
