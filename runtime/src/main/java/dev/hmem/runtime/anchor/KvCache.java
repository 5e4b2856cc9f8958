package dev.hmem.runtime.anchor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import dev.hmem.runtime.config.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Keys and values of every running sequence, one slot per sequence, preallocated so decoding
 * never copies the cache: {@code k[layer]} and {@code v[layer]} are (slots, Hkv, capacity, hd) and
 * a sequence's tokens occupy positions 0..len-1 of its slot. Running sequences are kept in slots
 * 0..n-1 so a decode step reads one slice. ({@code q @ K^T} on a transposed view of the slice is
 * faster than storing keys transposed: measured, the BLAS call takes the transpose for free.)
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    final NDArray[] k;  // (L)(slots, Hkv, capacity, hd)
    final NDArray[] v;  // (L)(slots, Hkv, capacity, hd)
    private final int slots;
    private final int capacity;
    private final ByteBuffer[] kBytes;  // views of k[l], v[l] in native memory, for the Java decode path
    private final ByteBuffer[] vBytes;

    public KvCache(ModelConfig c, int slots, int capacity, NDManager parent) {
        if (slots <= 0 || capacity <= 0) {
            throw new IllegalArgumentException("KV cache needs positive slots and capacity, got " + slots + ", " + capacity);
        }
        this.manager = parent.newSubManager();
        this.slots = slots;
        this.capacity = capacity;
        Shape shape = new Shape(slots, c.numKvHeads(), capacity, c.headDim());
        k = new NDArray[c.numLayers()];
        v = new NDArray[c.numLayers()];
        for (int l = 0; l < c.numLayers(); l++) {
            k[l] = manager.zeros(shape);
            v[l] = manager.zeros(shape);
        }
        kBytes = new ByteBuffer[c.numLayers()];
        vBytes = new ByteBuffer[c.numLayers()];
    }

    /**
     * Layer {@code l}'s keys as little-endian f32 bytes, a view of the tensor's own memory (writes
     * are seen by {@link Transformer} and the other way round): byte {@code 4 * (((slot * Hkv +
     * head) * capacity + position) * hd + i)}.
     */
    public ByteBuffer keyBuffer(int l) {
        if (kBytes[l] == null) kBytes[l] = view(k[l]);
        return kBytes[l];
    }

    /** Layer {@code l}'s values, laid out as {@link #keyBuffer}. */
    public ByteBuffer valueBuffer(int l) {
        if (vBytes[l] == null) vBytes[l] = view(v[l]);
        return vBytes[l];
    }

    private static ByteBuffer view(NDArray a) {
        ByteBuffer b = ((PtNDArray) a).toByteBuffer(true);
        if (!b.isDirect()) throw new IllegalStateException("the KV cache tensor is not viewable in place");
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    public int slots() {
        return slots;
    }

    /** Tokens one slot can hold. */
    public int capacity() {
        return capacity;
    }

    /** Native bytes of the cache. */
    public long bytes() {
        return 2L * k.length * k[0].getShape().size() * 4;
    }

    /** Copies the first {@code length} positions of slot {@code from} into slot {@code to}. */
    public void moveSlot(int from, int to, int length) {
        if (from == to || length == 0) return;
        for (int l = 0; l < k.length; l++) {
            try (NDArray ks = k[l].get("{}, :, 0:{}", from, length);
                 NDArray vs = v[l].get("{}, :, 0:{}", from, length)) {
                k[l].set(new NDIndex("{}, :, 0:{}", to, length), ks);
                v[l].set(new NDIndex("{}, :, 0:{}", to, length), vs);
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
