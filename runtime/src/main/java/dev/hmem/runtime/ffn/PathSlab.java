package dev.hmem.runtime.ffn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.bank.MemoryBlock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Memories of one width side by side in one preallocated slab per layer, so a single batched GEMM
 * computes the memory branch of all of them at once instead of a handful of small kernels each
 * (S-LoRA's unified memory pool, done for CPU). An entry is a list of blocks (a path, or in
 * {@link LevelSlabs} a single block of one level); it takes a slot when its first user comes and
 * gives it up when its last one leaves; the last slot moves into the hole, so the entries in use
 * always occupy slots 0..used-1 and a decode step reads the slab without copying.
 */
public final class PathSlab implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] gateUp;  // (L)(capacity, 2R, d): the path's gate rows, then its up rows
    private final NDArray[] downT;   // (L)(capacity, R, d)
    private final int width;
    private final int capacity;
    private final Map<List<MemoryBlock>, Integer> slotOf = new HashMap<>();
    private final List<List<MemoryBlock>> pathAt = new ArrayList<>();
    private final List<Integer> users = new ArrayList<>();

    public PathSlab(int layers, int width, int hidden, int capacity, NDManager parent) {
        if (capacity < 1) throw new IllegalArgumentException("slab capacity must be >= 1");
        this.manager = parent.newSubManager();
        this.width = width;
        this.capacity = capacity;
        gateUp = new NDArray[layers];
        downT = new NDArray[layers];
        for (int l = 0; l < layers; l++) {
            gateUp[l] = manager.zeros(new Shape(capacity, 2L * width, hidden));
            downT[l] = manager.zeros(new Shape(capacity, width, hidden));
            // Created during a generator step: the slab outlives the step's scope.
            NDScope.unregister(gateUp[l], downT[l]);
        }
    }

    public int width() {
        return width;
    }

    /** Paths in the slab (they hold slots 0..used-1). */
    public int used() {
        return pathAt.size();
    }

    public boolean has(List<MemoryBlock> path) {
        return slotOf.containsKey(path);
    }

    /** The slot {@code path} occupies now (slots move when others leave). */
    public int slotOf(List<MemoryBlock> path) {
        return slotOf.get(path);
    }

    /** The entry in {@code slot}. */
    public List<MemoryBlock> pathAt(int slot) {
        return pathAt.get(slot);
    }

    public boolean full() {
        return pathAt.size() == capacity;
    }

    /** Whether a path of these blocks can live in this slab. */
    public boolean fits(List<MemoryBlock> path) {
        int r = 0;
        for (MemoryBlock b : path) r += b.neurons();
        return r == width;
    }

    /** The slot of {@code path}, assembling it into a free slot on its first user. */
    public int acquire(List<MemoryBlock> path) {
        Integer slot = slotOf.get(path);
        if (slot != null) {
            users.set(slot, users.get(slot) + 1);
            return slot;
        }
        if (full()) throw new IllegalStateException("path slab full (" + capacity + " paths)");
        if (!fits(path)) throw new IllegalArgumentException("path of other width than the slab's " + width);
        int s = pathAt.size();
        try (NDScope scope = new NDScope()) {
            for (int l = 0; l < gateUp.length; l++) {
                List<NDArray> gates = new ArrayList<>(), ups = new ArrayList<>(), downs = new ArrayList<>();
                for (MemoryBlock b : path) {
                    gates.add(b.gateUp(l).get("0:{}", b.neurons()));
                    ups.add(b.gateUp(l).get("{}:", b.neurons()));
                    downs.add(b.downT(l));
                }
                gates.addAll(ups);
                gateUp[l].set(new NDIndex("{}", s), NDArrays.concat(new NDList(gates), 0));
                downT[l].set(new NDIndex("{}", s), NDArrays.concat(new NDList(downs), 0));
            }
        }
        slotOf.put(path, s);
        pathAt.add(path);
        users.add(1);
        return s;
    }

    /** One user of {@code path} is done; its slot is freed (and the last slot moved into it) on the last. */
    public void release(List<MemoryBlock> path) {
        int s = slotOf.get(path);
        int u = users.get(s) - 1;
        users.set(s, u);
        if (u > 0) return;
        int last = pathAt.size() - 1;
        if (s != last) {
            try (NDScope scope = new NDScope()) {
                for (int l = 0; l < gateUp.length; l++) {
                    gateUp[l].set(new NDIndex("{}", s), gateUp[l].get("{}", last));
                    downT[l].set(new NDIndex("{}", s), downT[l].get("{}", last));
                }
            }
            List<MemoryBlock> moved = pathAt.get(last);
            pathAt.set(s, moved);
            users.set(s, users.get(last));
            slotOf.put(moved, s);
        }
        pathAt.remove(last);
        users.remove(last);
        slotOf.remove(path);
    }

    /** (L)(slots, 2R, d) of slots 0..count-1, a view. */
    NDArray gateUp(int layer, int count) {
        return gateUp[layer].get("0:{}", count);
    }

    NDArray downT(int layer, int count) {
        return downT[layer].get("0:{}", count);
    }

    /** Native bytes held. */
    public long bytes() {
        return (long) capacity * 3 * width * gateUp[0].getShape().get(2) * gateUp.length * 4;
    }

    @Override
    public void close() {
        manager.close();
    }
}
