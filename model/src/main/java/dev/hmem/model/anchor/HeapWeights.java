package dev.hmem.model.anchor;

import dev.hmem.model.config.ModelConfig;

/**
 * The anchor's weights and RoPE table copied onto the Java heap for {@link JavaDecoder}: the
 * Vector API streams Java arrays faster than native memory on Java 17 (measured: a batch-1 GEMV
 * over a direct buffer runs at about two thirds of the same loop over an array). Made once per
 * {@link Transformer} and shared by all its decoders; the cost is a second copy of the anchor
 * (4 bytes per parameter) on the heap.
 */
final class HeapWeights {

    final ModelConfig config;
    final float[] embed, lmHead, finalNorm;
    final float[][] attnNorm, wqkv, wo, ffnNorm, wgu, wdown;
    final float[] cos, sin;  // (positions, hd)
    final int positions;

    HeapWeights(AnchorWeights w, RopeTable rope) {
        this.config = w.config;
        embed = w.embed.toFloatArray();
        lmHead = w.lmHead == w.embed ? embed : w.lmHead.toFloatArray();
        finalNorm = w.finalNorm.toFloatArray();
        int layers = config.numLayers();
        attnNorm = new float[layers][];
        wqkv = new float[layers][];
        wo = new float[layers][];
        ffnNorm = new float[layers][];
        wgu = new float[layers][];
        wdown = new float[layers][];
        for (int l = 0; l < layers; l++) {
            attnNorm[l] = w.attnNorm[l].toFloatArray();
            wqkv[l] = w.wqkv[l].toFloatArray();
            wo[l] = w.wo[l].toFloatArray();
            ffnNorm[l] = w.ffnNorm[l].toFloatArray();
            wgu[l] = w.wgu[l].toFloatArray();
            wdown[l] = w.wdown[l].toFloatArray();
        }
        cos = rope.cos.toFloatArray();
        sin = rope.sin.toFloatArray();
        positions = rope.positions;
        int d = config.hiddenSize();
        if (d % VectorOps.LANES != 0 || config.headDim() % VectorOps.LANES != 0 || config.intermediateSize() % VectorOps.LANES != 0) {
            throw new IllegalArgumentException("the Java decode path needs widths that are multiples of " + VectorOps.LANES
                    + ", the model has hidden " + d + ", head " + config.headDim() + ", FFN " + config.intermediateSize());
        }
    }
}
