package dev.hmem.runtime.anchor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.ffn.MemoryBranch;
import dev.hmem.runtime.tensor.Ops;
import dev.hmem.runtime.tensor.WeightFormat;

/**
 * The Llama decoder's forward pass with FFN memories: embedding, then per layer
 * RMSNorm → grouped-query attention with RoPE → residual → RMSNorm → SwiGLU (anchor neurons plus
 * each row's memory neurons) → residual, then the final norm and LM head.
 *
 * <p>Two entry points share the layer code: {@link #forwardCached} for serving (keys and values go
 * to a {@link KvCache}; prefill and decode are the same call with T tokens per row), and
 * {@link #forwardFull} for training and reference checks (causal attention over the given tokens,
 * no cache).
 */
public final class Transformer implements AutoCloseable {

    private final AnchorWeights w;
    private final ModelConfig c;
    private final RopeTable rope;
    private final NDManager manager;
    private final NDArray scale;  // () 1/sqrt(hd): arrays, not Java numbers, skip a tensor creation per op
    private final NDArray eps;    // () RMSNorm epsilon
    // For the Java decode path, made on first use of each format.
    private final java.util.EnumMap<WeightFormat, HeapWeights> heapWeights = new java.util.EnumMap<>(WeightFormat.class);

    public Transformer(AnchorWeights weights) {
        this.w = weights;
        this.c = weights.config;
        this.manager = weights.manager.newSubManager();
        this.rope = new RopeTable(c, c.maxPositions(), manager);
        this.scale = manager.create((float) (1.0 / Math.sqrt(c.headDim())));
        this.eps = manager.create((float) c.rmsNormEps());
    }

    public ModelConfig config() {
        return c;
    }

    public AnchorWeights weights() {
        return w;
    }

    /**
     * A Java decode path over this model's weights, for small decode batches ({@link JavaDecoder}), its anchor
     * matrices in {@code format} (the first call per format copies the weights to the heap, later ones share that
     * copy), keeping heap copies of memory blocks up to {@code blockCopyBytes}.
     */
    public synchronized JavaDecoder javaDecoder(int threads, WeightFormat format, long blockCopyBytes) {
        return new JavaDecoder(heapWeights.computeIfAbsent(format, f -> new HeapWeights(w, rope, f)), threads, blockCopyBytes);
    }

    /**
     * Runs T tokens for each of n rows that occupy cache slots {@code slot0 .. slot0+n-1}. Row i's
     * tokens {@code tokens[i, 0 .. lens[i]-1]} sit at positions {@code pos0[i] ..}; columns past
     * {@code lens[i]} are padding whose keys land beyond the row's length and are never attended.
     *
     * @param tokens (n, T) int64
     * @return logits (n, V) at each row's last real token
     */
    public NDArray forwardCached(NDArray tokens, int[] pos0, int[] lens, MemoryBranch plan, KvCache cache, int slot0) {
        NDManager m = tokens.getManager();
        int n = (int) tokens.getShape().get(0), t = (int) tokens.getShape().get(1);
        int ctx = 0;
        long[] pos = new long[n * t];
        for (int i = 0; i < n; i++) {
            if (pos0[i] + t > cache.capacity()) {
                throw new IllegalArgumentException("row " + i + " needs position " + (pos0[i] + t - 1)
                        + " but the KV cache holds " + cache.capacity() + " positions");
            }
            for (int j = 0; j < t; j++) pos[i * t + j] = pos0[i] + j;
            ctx = Math.max(ctx, pos0[i] + t);
        }
        NDArray positions = m.create(pos, new Shape(n, t));
        // Additive mask (n, 1, 1, T, ctx): query j of row i sees keys at positions <= pos0[i] + j.
        float[] mask = new float[n * t * ctx];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < t; j++) {
                int base = (i * t + j) * ctx;
                for (int key = pos0[i] + j + 1; key < ctx; key++) mask[base + key] = Float.NEGATIVE_INFINITY;
            }
        }
        NDArray maskArr = m.create(mask, t == 1 ? new Shape(n, 1, 1, ctx) : new Shape(n, 1, 1, t, ctx));
        NDArray slotIdx = m.create(range(slot0, n), new Shape(n, 1));
        final int ctxLen = ctx;
        Attention attn = (layer, q, k, v) -> {
            // Advanced indices (slot, position) broadcast to (n, T) and come first: values (n, T, Hkv, hd).
            cache.k[layer].set(new NDIndex("{}, :, {}", slotIdx, positions), k);
            cache.v[layer].set(new NDIndex("{}, :, {}", slotIdx, positions), v);
            NDArray kT = cache.k[layer].get("{}:{}, :, 0:{}", slot0, slot0 + n, ctxLen).transpose(0, 1, 3, 2);
            NDArray vc = cache.v[layer].get("{}:{}, :, 0:{}", slot0, slot0 + n, ctxLen);
            return attend(q, kT, vc, maskArr);
        };
        NDArray x = layers(tokens, positions, attn, plan, true);
        long[] last = new long[n];
        for (int i = 0; i < n; i++) last[i] = lens[i] - 1;
        NDArray rows = m.create(range(0, n));
        NDArray xl = x.get(new NDIndex("{}, {}", rows, m.create(last)));  // (n, d)
        return Ops.linear(Ops.rmsNorm(xl, w.finalNorm, eps), w.lmHead);
    }

    /**
     * Full causal forward over (n, T) tokens starting at position 0, without a cache.
     *
     * @return logits (n, T, V)
     */
    public NDArray forwardFull(NDArray tokens, MemoryBranch plan) {
        NDManager m = tokens.getManager();
        int n = (int) tokens.getShape().get(0), t = (int) tokens.getShape().get(1);
        long[] pos = new long[n * t];
        for (int i = 0; i < pos.length; i++) pos[i] = i % t;
        NDArray positions = m.create(pos, new Shape(n, t));
        float[] mask = new float[t * t];
        for (int j = 0; j < t; j++) {
            for (int key = j + 1; key < t; key++) mask[j * t + key] = Float.NEGATIVE_INFINITY;
        }
        NDArray maskArr = m.create(mask, new Shape(1, 1, 1, t, t));
        Attention attn = (layer, q, k, v) -> attend(q, k.transpose(0, 2, 3, 1), v.transpose(0, 2, 1, 3), maskArr);
        NDArray x = layers(tokens, positions, attn, plan, false);
        return Ops.linear(Ops.rmsNorm(x, w.finalNorm, eps), w.lmHead);
    }

    private static long[] range(int start, int count) {
        long[] r = new long[count];
        for (int i = 0; i < count; i++) r[i] = start + i;
        return r;
    }

    /** How a layer's attention obtains keys and values: from the cache, or from this call's tokens. */
    private interface Attention {
        /** q (n, T, H, hd), k and v (n, T, Hkv, hd) → (n, T, H hd). */
        NDArray apply(int layer, NDArray q, NDArray k, NDArray v);
    }

    /**
     * The decoder layers over x. With {@code freeEachLayer} every layer's intermediates are freed when the layer ends
     * and only its output lives on: a prefill of 8 prompts of 512 tokens holds some 400 MB of attention scores and
     * activations per layer, which a 35-layer anchor would otherwise keep to the end of the step (measured: a bench
     * process was killed at 24 GB). Training passes false: its backward pass needs the graph, and a plan may build
     * state at the first layer ({@link dev.hmem.runtime.ffn.RowBatchedMemory}).
     */
    private NDArray layers(NDArray tokens, NDArray positions, Attention attention, MemoryBranch plan, boolean freeEachLayer) {
        int n = (int) tokens.getShape().get(0), t = (int) tokens.getShape().get(1);
        NDArray x = w.embed.get(new NDIndex("{}", tokens));                       // (n, T, d)
        NDArray cos = rope.cos.get(new NDIndex("{}", positions)).reshape(n, t, 1, c.headDim());
        NDArray sin = rope.sin.get(new NDIndex("{}", positions)).reshape(n, t, 1, c.headDim());
        for (int l = 0; l < c.numLayers(); l++) {
            if (!freeEachLayer) {
                x = layer(l, x, cos, sin, attention, plan);
                continue;
            }
            NDArray in = x;
            try (NDScope scope = new NDScope()) {
                x = layer(l, in, cos, sin, attention, plan);
                NDScope.unregister(x);
                scope.suppressNotUsedWarning();
            }
            if (l > 0) in.close();  // the previous layer's output, read by this layer alone
        }
        return x;
    }

    /** One decoder layer: x plus attention, plus the FFN and the memory branch. */
    private NDArray layer(int l, NDArray x, NDArray cos, NDArray sin, Attention attention, MemoryBranch plan) {
        int n = (int) x.getShape().get(0), t = (int) x.getShape().get(1);
        int h = c.numHeads(), hkv = c.numKvHeads(), hd = c.headDim();
        NDArray a = Ops.rmsNorm(x, w.attnNorm[l], eps);
        NDArray qkv = Ops.linear(a, w.wqkv[l]).reshape(n, t, h + 2 * hkv, hd);
        NDList qkAndV = qkv.split(new long[] {h + hkv}, 2);
        NDArray qk = RopeTable.apply(qkAndV.get(0), cos, sin, rope.rotate);  // rotate q and k together
        NDList qAndK = qk.split(new long[] {h}, 2);
        NDArray att = attention.apply(l, qAndK.get(0), qAndK.get(1), qkAndV.get(1));
        NDArray mid = x.add(Ops.linear(att, w.wo[l]));

        NDArray f = Ops.rmsNorm(mid, w.ffnNorm[l], eps);
        NDList gu = Ops.halves(Ops.linear(f, w.wgu[l]));
        NDArray y = Ops.linear(Ops.swiglu(gu.get(0), gu.get(1)), w.wdown[l]);
        NDArray mem = plan.apply(l, f);
        return mid.add(mem == null ? y : y.add(mem));
    }

    /**
     * Grouped-query attention. q (n, T, H, hd); kT (n, Hkv, hd, ctx); vc (n, Hkv, ctx, hd);
     * mask (n, 1, 1, ctx) when T = 1, else (n|1, 1, 1, T, ctx). Query head h uses key/value head h / G, as Hugging Face's repeat_kv.
     */
    private NDArray attend(NDArray q, NDArray kT, NDArray vc, NDArray mask) {
        int n = (int) q.getShape().get(0), t = (int) q.getShape().get(1);
        int hkv = c.numKvHeads(), g = c.groupSize(), hd = c.headDim();
        long ctx = kT.getShape().get(3);
        if (t == 1) {
            NDArray qg = q.reshape(n, hkv, g, hd);
            NDArray s = qg.matMul(kT).mul(scale).add(mask);
            return s.softmax(-1).matMul(vc).reshape(n, 1, (long) hkv * g * hd);  // (n, 1, H hd)
        }
        NDArray qg = q.reshape(n, t, hkv, g, hd).transpose(0, 2, 3, 1, 4).reshape(n, hkv, (long) g * t, hd);
        NDArray s = qg.matMul(kT).mul(scale).reshape(n, hkv, g, t, ctx).add(mask);
        NDArray p = s.softmax(-1).reshape(n, hkv, (long) g * t, ctx);
        return p.matMul(vc).reshape(n, hkv, g, t, hd).transpose(0, 3, 1, 2, 4).reshape(n, t, (long) hkv * g * hd);
    }

    @Override
    public void close() {
        manager.close();
    }
}
