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
    private Watcher watcher = Watcher.NONE;
    private boolean outlivedEviction;

    /**
     * Told when the block starts and stops being used and when its memory is freed, so an owner can count the bytes
     * that are really held (a block evicted from a cache stays in memory while a prompt holds it). Called under the
     * block's lock: implementations only count.
     */
    public interface Watcher {
        /** The first user retained the block ({@code true}), or the last one released it. */
        void inUse(MemoryBlock block, boolean inUse);

        /** The owner dropped the block while users still hold it: its memory outlives its place in the owner. */
        void evictedInUse(MemoryBlock block);

        /** The memory is freed; {@code wasEvictedInUse}: {@link #evictedInUse} was reported for it. */
        void freed(MemoryBlock block, boolean wasEvictedInUse);

        /** The owner took back a block it had dropped while in use ({@link #revive}): its memory is the owner's again. */
        default void revived(MemoryBlock block) {}

        Watcher NONE = new Watcher() {
            @Override public void inUse(MemoryBlock block, boolean inUse) {}
            @Override public void evictedInUse(MemoryBlock block) {}
            @Override public void freed(MemoryBlock block, boolean wasEvictedInUse) {}
        };
    }

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

    /** Sets who is told about this block's use (once, before anyone retains it). */
    public synchronized MemoryBlock watch(Watcher w) {
        if (users > 0 || closed) throw new IllegalStateException("block " + id + " is already in use or freed");
        this.watcher = w;
        return this;
    }

    /** Registers a user; fails if the block's memory is already freed. */
    public synchronized MemoryBlock retain() {
        if (closed) {
            throw new IllegalStateException("block " + id + " was already freed");
        }
        if (users++ == 0) watcher.inUse(this, true);
        return this;
    }

    public synchronized void release() {
        if (users <= 0) {
            throw new IllegalStateException("block " + id + " released more often than retained");
        }
        if (--users == 0) watcher.inUse(this, false);
        freeIfUnused();
    }

    /** Marks the block as dropped by its owner (a cache); memory is freed once no user holds it. */
    public synchronized void evict() {
        if (evicted) return;
        evicted = true;
        if (users > 0 && !closed) {
            outlivedEviction = true;
            watcher.evictedInUse(this);
        }
        freeIfUnused();
    }

    /**
     * Takes a block its owner dropped while users still held it back into the owner (a cache asked for it again), so the
     * owner does not read a second copy of memory that is already there. False if it was never dropped or is freed.
     */
    public synchronized boolean revive() {
        if (!evicted || closed) return false;
        evicted = false;
        if (outlivedEviction) {
            outlivedEviction = false;
            watcher.revived(this);
        }
        return true;
    }

    public synchronized boolean isFreed() {
        return closed;
    }

    /** Whether its owner dropped it (it lives on only while users hold it). */
    public synchronized boolean isEvicted() {
        return evicted;
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
            watcher.freed(this, outlivedEviction);
        }
    }

    @Override
    public String toString() {
        return "MemoryBlock[" + id + ", r=" + neurons + "]";
    }
}
