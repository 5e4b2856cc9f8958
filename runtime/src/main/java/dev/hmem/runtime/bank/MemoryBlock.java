package dev.hmem.runtime.bank;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * One tree node's memory block in f32: {@code (L, 3, r, d)} = gate, up and transposed down rows
 * for each layer, exactly as stored in the bank. Per-layer views are cut once at load so the
 * forward pass never slices.
 *
 * <p>Blocks are shared by every sequence on a path that crosses the node and may be evicted from a
 * cache while sequences still run on them, so they are reference counted: {@link #retain()} per
 * user, {@link #release()} when done; the native memory is freed when the block has been
 * {@linkplain #evict() evicted} and the last user released it.
 */
public final class MemoryBlock implements FfnMemory {

    private final BlockId id;
    private final NDArray data;      // (L, 3, r, d)
    private final NDArray[] gateUp;  // (L)(2r, d)
    private final NDArray[] downT;   // (L)(r, d)
    private final int neurons;
    private int users;
    private boolean evicted;
    private boolean closed;

    public MemoryBlock(BlockId id, NDArray data) {
        Shape s = data.getShape();
        if (s.dimension() != 4 || s.get(1) != 3) {
            throw new IllegalArgumentException("block " + id + " must be (L, 3, r, d), got " + s);
        }
        this.id = id;
        this.data = data;
        int layers = (int) s.get(0);
        this.neurons = (int) s.get(2);
        long d = s.get(3);
        this.gateUp = new NDArray[layers];
        this.downT = new NDArray[layers];
        for (int l = 0; l < layers; l++) {
            // The slice must be closed once reshaped: a view left attached to the manager keeps the whole block's
            // storage alive after the block is freed, so an evicting cache would never give native memory back.
            try (NDArray slice = data.get("{}, 0:2", l)) {
                gateUp[l] = slice.reshape(2L * neurons, d);
            }
            downT[l] = data.get("{}, 2", l);
        }
    }

    public BlockId id() {
        return id;
    }

    @Override
    public int neurons() {
        return neurons;
    }

    public int layers() {
        return gateUp.length;
    }

    public int hiddenSize() {
        return (int) data.getShape().get(3);
    }

    /** Native bytes held by this block (f32). */
    public long bytes() {
        return data.getShape().size() * 4;
    }

    /** The whole (L, 3, r, d) array, e.g. for training or tests. */
    @Override
    public NDArray data() {
        return data;
    }

    @Override
    public NDArray gateUp(int layer) {
        return gateUp[layer];
    }

    @Override
    public NDArray downT(int layer) {
        return downT[layer];
    }

    /** Registers a user; fails if the block's memory is already freed. */
    public synchronized MemoryBlock retain() {
        if (closed) {
            throw new IllegalStateException("block " + id + " was already freed");
        }
        users++;
        return this;
    }

    public synchronized void release() {
        if (users <= 0) {
            throw new IllegalStateException("block " + id + " released more often than retained");
        }
        users--;
        freeIfUnused();
    }

    /** Marks the block as dropped by its owner (a cache); memory is freed once no user holds it. */
    public synchronized void evict() {
        evicted = true;
        freeIfUnused();
    }

    public synchronized boolean isFreed() {
        return closed;
    }

    public synchronized int users() {
        return users;
    }

    private void freeIfUnused() {
        if (evicted && users == 0 && !closed) {
            closed = true;
            for (NDArray a : gateUp) a.close();
            for (NDArray a : downT) a.close();
            data.close();
        }
    }

    @Override
    public String toString() {
        return "MemoryBlock[" + id + ", r=" + neurons + "]";
    }
}
