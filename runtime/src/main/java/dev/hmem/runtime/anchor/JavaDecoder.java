package dev.hmem.runtime.anchor;

import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.ffn.HeapBlocks;
import dev.hmem.runtime.ffn.MemoryGroups;
import dev.hmem.runtime.tensor.HeapMatrix;
import dev.hmem.runtime.tensor.Parallel;
import dev.hmem.runtime.tensor.VectorOps;
import dev.hmem.runtime.tensor.WeightFormat;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * One decode step (one new token per row) computed in Java with SIMD kernels ({@link VectorOps})
 * instead of PyTorch operations — the same Llama arithmetic as {@link Transformer}, memories
 * included, on the same KV cache. At a small batch a decode step is a few hundred tiny operations
 * each of which PyTorch dispatches through JNI, allocating its result; here each layer is a handful
 * of passes over the weights, which is what bounds a small batch, so batch 1 runs at the speed of
 * memory rather than of dispatch. Larger batches, where PyTorch's GEMMs win, and every prefill stay
 * with {@link Transformer}; both write and read the one {@link KvCache}, so a sequence moves between
 * them from step to step.
 *
 * <p>The anchor's weights are read from a heap copy shared by every decoder of a model
 * ({@link HeapWeights}: the kernels stream arrays fastest), and so are memory blocks, from heap
 * copies kept up to a budget ({@link HeapBlocks}); the KV cache is read in place, through the
 * tensor's native memory. A decoder is used by one thread at a time.
 * Requires the {@code jdk.incubator.vector} module at run time ({@link #available()}).
 */
public final class JavaDecoder implements AutoCloseable {

    private final ModelConfig c;
    private final int d, h, hkv, hd, ffn, vocab, qkvWidth, group;
    private final float eps, scale;
    private final HeapWeights w;
    private final Parallel parallel;
    private final HeapBlocks blocks;

    /** Whether the Vector API is there (the JVM was started with {@code --add-modules jdk.incubator.vector}). */
    public static boolean available() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /** The format the anchor's matrices are read in. */
    public WeightFormat format() {
        return w.format;
    }

    JavaDecoder(HeapWeights w, int threads, long blockCopyBytes) {
        this.w = w;
        this.blocks = new HeapBlocks(blockCopyBytes);
        this.c = w.config;
        d = c.hiddenSize();
        h = c.numHeads();
        hkv = c.numKvHeads();
        hd = c.headDim();
        ffn = c.intermediateSize();
        vocab = c.vocabSize();
        qkvWidth = c.qkvWidth();
        group = c.groupSize();
        eps = (float) c.rmsNormEps();
        scale = (float) (1.0 / Math.sqrt(hd));
        parallel = new Parallel(threads);
    }

    /**
     * Decodes one token per row: row b is token {@code tokens[b]} at position {@code positions[b]}
     * of the sequence in cache slot b, with the memories {@code memory.get(b)} (none, one, or a
     * path's blocks). Writes each row's key and value into the cache.
     *
     * @return logits, row-major (n, V)
     */
    public float[] decode(int[] tokens, int[] positions, List<? extends List<? extends FfnMemory>> memory, KvCache cache) {
        int n = tokens.length;
        float[] x = new float[n * d], a = new float[n * d];
        float[] qkv = new float[n * qkvWidth], att = new float[n * h * hd];
        float[] gu = new float[n * 2 * ffn], act = new float[n * ffn];
        for (int b = 0; b < n; b++) {
            if (positions[b] < 0 || positions[b] >= cache.capacity()) {
                throw new IllegalArgumentException("row " + b + " at position " + positions[b] + " outside the cache's " + cache.capacity());
            }
            if (positions[b] >= w.positions) {
                throw new IllegalArgumentException("row " + b + " at position " + positions[b] + " beyond the model's "
                        + w.positions + " positions");
            }
            if (tokens[b] < 0 || tokens[b] >= vocab) {
                throw new IllegalArgumentException("row " + b + ": token id " + tokens[b] + " outside the vocabulary of " + vocab);
            }
            System.arraycopy(w.embed, tokens[b] * d, x, b * d, d);
        }
        MemoryGroups groups = MemoryGroups.of(memory, d, blocks);
        for (int l = 0; l < c.numLayers(); l++) {
            VectorOps.rmsNorm(x, n, d, w.attnNorm[l], eps, a);
            HeapMatrix wq = w.wqkv[l];
            parallel.rows(qkvWidth, (from, to) -> wq.matmul(a, 0, n, qkv, 0, qkvWidth, from, to, false));
            rope(qkv, n, positions);
            ByteBuffer kc = cache.keyBuffer(l), vc = cache.valueBuffer(l);
            storeKeysValues(qkv, n, positions, kc, vc, cache.capacity());
            parallel.rows(n * h, (from, to) -> attend(qkv, n, positions, kc, vc, cache.capacity(), att, from, to));
            HeapMatrix wol = w.wo[l];
            parallel.rows(d, (from, to) -> wol.matmul(att, 0, n, x, 0, d, from, to, true));

            VectorOps.rmsNorm(x, n, d, w.ffnNorm[l], eps, a);
            groups.gather(a, d);
            HeapMatrix wg = w.wgu[l];
            int layer = l, anchorGu = 2 * ffn;
            // The memory blocks' gate/up outputs follow the anchor's in one split, their down
            // projections share its columns (MemoryGroups: a split per block cost more than the blocks).
            parallel.rows(anchorGu + groups.gateUpOutputs(), (from, to) -> {
                if (from < anchorGu) wg.matmul(a, 0, n, gu, 0, anchorGu, from, Math.min(to, anchorGu), false);
                if (to > anchorGu) groups.gateUp(layer, d, Math.max(from, anchorGu) - anchorGu, to - anchorGu);
            });
            for (int b = 0; b < n; b++) VectorOps.swiglu(gu, b * 2 * ffn, gu, b * 2 * ffn + ffn, act, b * ffn, ffn);
            groups.swiglu();
            HeapMatrix wd = w.wdown[l];
            parallel.rows(d, (from, to) -> {
                // Cuts moved down to lane multiples (the memory kernel's unit); d is one, so the
                // threads' ranges still meet and cover it.
                int c0 = from - from % VectorOps.LANES, c1 = to - to % VectorOps.LANES;
                if (c0 >= c1) return;
                wd.matmul(act, 0, n, x, 0, d, c0, c1, true);
                groups.down(layer, x, d, c0, c1);
            });
        }
        VectorOps.rmsNorm(x, n, d, w.finalNorm, eps, a);
        float[] logits = new float[n * vocab];
        parallel.rows(vocab, (from, to) -> w.lmHead.matmul(a, 0, n, logits, 0, vocab, from, to, false));
        return logits;
    }

    /** Rotary embedding of every q and k head of each row, in place ("rotate half" pairs i and i + hd/2). */
    private void rope(float[] qkv, int n, int[] positions) {
        int half = hd / 2;
        for (int b = 0; b < n; b++) {
            int p = positions[b] * hd;
            for (int head = 0; head < h + hkv; head++) {
                int o = b * qkvWidth + head * hd;
                for (int i = 0; i < half; i++) {
                    float x1 = qkv[o + i], x2 = qkv[o + i + half];
                    qkv[o + i] = x1 * w.cos[p + i] - x2 * w.sin[p + i];
                    qkv[o + i + half] = x2 * w.cos[p + i + half] + x1 * w.sin[p + i + half];
                }
            }
        }
    }

    /** Cache layout (slots, Hkv, capacity, hd): row b's key of head g at its position. */
    private void storeKeysValues(float[] qkv, int n, int[] positions, ByteBuffer kc, ByteBuffer vc, int capacity) {
        for (int b = 0; b < n; b++) {
            for (int g = 0; g < hkv; g++) {
                int at = 4 * (((b * hkv + g) * capacity + positions[b]) * hd);
                int k = b * qkvWidth + (h + g) * hd, v = b * qkvWidth + (h + hkv + g) * hd;
                for (int j = 0; j < hd; j++) {
                    kc.putFloat(at + 4 * j, qkv[k + j]);
                    vc.putFloat(at + 4 * j, qkv[v + j]);
                }
            }
        }
    }

    /** Attention of (row, head) pairs {@code [from, to)}: softmax over the row's positions 0..p, weighted values. */
    private void attend(float[] qkv, int n, int[] positions, ByteBuffer kc, ByteBuffer vc, int capacity, float[] att,
                        int from, int to) {
        float[] scores = new float[capacity];
        for (int bh = from; bh < to; bh++) {
            int b = bh / h, head = bh % h, g = head / group, len = positions[b] + 1;
            int q = b * qkvWidth + head * hd;
            int base = 4 * ((b * hkv + g) * capacity * hd);
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < len; t++) {
                float s = VectorOps.dot(qkv, q, kc, base + 4 * t * hd, hd) * scale;
                scores[t] = s;
                if (s > max) max = s;
            }
            float sum = 0;
            for (int t = 0; t < len; t++) {
                float e = (float) Math.exp(scores[t] - max);
                scores[t] = e;
                sum += e;
            }
            int out = b * h * hd + head * hd;
            java.util.Arrays.fill(att, out, out + hd, 0f);
            float inv = 1f / sum;
            for (int t = 0; t < len; t++) VectorOps.axpy(scores[t] * inv, vc, base + 4 * t * hd, att, out, hd);
        }
    }

    @Override
    public void close() {
        try {
            parallel.close();
        } finally {
            blocks.close();
        }
    }
}
