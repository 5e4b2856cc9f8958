package dev.hmem.runtime.anchor;

import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.tensor.HeapMatrix;
import dev.hmem.runtime.tensor.VectorOps;
import dev.hmem.runtime.tensor.WeightFormat;

/**
 * The anchor's weights and RoPE table copied onto the Java heap for {@link JavaDecoder}: the
 * Vector API streams Java arrays faster than native memory on Java 17 (measured: a batch-1 GEMV
 * over a direct buffer runs at about two thirds of the same loop over an array). Made once per
 * {@link Transformer} and shared by all its decoders; the cost is a second copy of the anchor
 * (4 bytes per parameter, or 2 for the matrices in bf16) on the heap.
 */
final class HeapWeights {

    final ModelConfig config;
    final WeightFormat format;
    final float[] embed, finalNorm;
    final float[][] attnNorm, ffnNorm;
    final HeapMatrix lmHead;
    final HeapMatrix[] wqkv, wo, wgu, wdown;
    final float[] cos, sin;  // (positions, hd)
    final int positions;

    HeapWeights(AnchorWeights w, RopeTable rope, WeightFormat format) {
        this.config = w.config;
        this.format = format;
        int d = config.hiddenSize(), ffn = config.intermediateSize(), v = config.vocabSize();
        embed = w.embed.toFloatArray();
        lmHead = HeapMatrix.of(w.lmHead == w.embed ? embed : w.lmHead.toFloatArray(), v, d, format);
        finalNorm = w.finalNorm.toFloatArray();
        int layers = config.numLayers();
        attnNorm = new float[layers][];
        ffnNorm = new float[layers][];
        wqkv = new HeapMatrix[layers];
        wo = new HeapMatrix[layers];
        wgu = new HeapMatrix[layers];
        wdown = new HeapMatrix[layers];
        int attn = config.numHeads() * config.headDim();
        for (int l = 0; l < layers; l++) {
            attnNorm[l] = w.attnNorm[l].toFloatArray();
            ffnNorm[l] = w.ffnNorm[l].toFloatArray();
            wqkv[l] = HeapMatrix.of(w.wqkv[l].toFloatArray(), config.qkvWidth(), d, format);
            wo[l] = HeapMatrix.of(w.wo[l].toFloatArray(), d, attn, format);
            wgu[l] = HeapMatrix.of(w.wgu[l].toFloatArray(), 2 * ffn, d, format);
            wdown[l] = HeapMatrix.of(w.wdown[l].toFloatArray(), d, ffn, format);
        }
        cos = rope.cos.toFloatArray();
        sin = rope.sin.toFloatArray();
        positions = rope.positions;
        if (d % VectorOps.LANES != 0 || config.headDim() % VectorOps.LANES != 0 || config.intermediateSize() % VectorOps.LANES != 0) {
            throw new IllegalArgumentException("the Java decode path needs widths that are multiples of " + VectorOps.LANES
                    + ", the model has hidden " + d + ", head " + config.headDim() + ", FFN " + config.intermediateSize());
        }
    }
}
