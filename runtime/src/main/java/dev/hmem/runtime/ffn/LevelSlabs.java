package dev.hmem.runtime.ffn;

import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.bank.MemoryBlock;
import java.util.ArrayList;
import java.util.List;

/**
 * The memories of a batch kept one slab per tree level instead of one per path: slot s of level
 * l's slab holds a single level-l block, and a row's memory branch is the sum over levels of its
 * block's SwiGLU. That equals the SwiGLU of the concatenated path (the neurons are independent),
 * but a block shared by many rows of the batch — the level-1 block of a subtask's clusters above
 * all — is read once per step instead of once per path, and a new leaf assembles only its own
 * small block. Under a Zipf load over many leaves this cuts the memory weights a decode step reads
 * by about the upper levels' share of the path width.
 *
 * <p>Block i of a path goes to slab i, created with the width of the first block it sees; a path
 * with a block of another width does not {@link #fits fit} and is computed elsewhere.
 */
public final class LevelSlabs implements AutoCloseable {

    private final int layers;
    private final int hidden;
    private final int capacity;
    private final NDManager manager;
    private final List<PathSlab> slabs = new ArrayList<>();
    /**
     * The whole path of a batch whose rows all share one, its levels side by side: one wider SwiGLU
     * instead of one per level, which is what a single-path batch costs without level slabs.
     * Assembled when such a batch first steps (one copy of the path), replaced when another does.
     */
    private PathSlab fused;

    /** @param capacity distinct blocks per level at most */
    public LevelSlabs(int layers, int hidden, int capacity, NDManager manager) {
        if (capacity < 1) throw new IllegalArgumentException("slab capacity must be >= 1");
        this.layers = layers;
        this.hidden = hidden;
        this.capacity = capacity;
        this.manager = manager;
    }

    /** Whether every block of {@code path} has the width of its level's slab (or that slab is yet to be made). */
    public boolean fits(List<MemoryBlock> path) {
        for (int i = 0; i < path.size() && i < slabs.size(); i++) {
            if (slabs.get(i).width() != path.get(i).neurons()) return false;
        }
        return true;
    }

    /** Whether {@link #acquire} would find a slot for every block of {@code path} now. */
    public boolean hasRoomFor(List<MemoryBlock> path) {
        for (int i = 0; i < path.size() && i < slabs.size(); i++) {
            PathSlab s = slabs.get(i);
            if (s.full() && !s.has(List.of(path.get(i)))) return false;
        }
        return true;
    }

    /** Takes (or shares) a slot for each block of {@code path}. */
    public void acquire(List<MemoryBlock> path) {
        if (!fits(path)) throw new IllegalArgumentException("path of other block widths than the slabs'");
        if (!hasRoomFor(path)) throw new IllegalStateException("level slab full (" + capacity + " blocks)");
        for (int i = 0; i < path.size(); i++) {
            if (i == slabs.size()) slabs.add(new PathSlab(layers, path.get(i).neurons(), hidden, capacity, manager));
            slabs.get(i).acquire(List.of(path.get(i)));
        }
    }

    /** One user of {@code path} is done with its blocks. */
    public void release(List<MemoryBlock> path) {
        for (int i = 0; i < path.size(); i++) slabs.get(i).release(List.of(path.get(i)));
    }

    /**
     * The memory branch of a forward pass: one {@link SlabPlan} per level, summed.
     *
     * @param rowPaths each row's path (acquired here), or an empty list for rows computed elsewhere
     */
    public MemoryBranch plan(List<List<MemoryBlock>> rowPaths, NDManager m) {
        List<MemoryBlock> shared = sharedPath(rowPaths);
        if (shared != null && shared.size() > 1) return fusedPlan(shared, rowPaths.size(), m);
        MemoryBranch branch = MemoryBranch.NONE;
        for (int level = 0; level < slabs.size(); level++) {
            PathSlab slab = slabs.get(level);
            int[] slot = new int[rowPaths.size()];
            for (int r = 0; r < slot.length; r++) {
                List<MemoryBlock> p = rowPaths.get(r);
                slot[r] = level < p.size() ? slab.slotOf(List.of(p.get(level))) : -1;
            }
            branch = MemoryBranch.sum(branch, SlabPlan.of(slab, slot, m));
        }
        return branch;
    }

    /** The path every row uses, or null when rows differ or have none. */
    private static List<MemoryBlock> sharedPath(List<List<MemoryBlock>> rowPaths) {
        List<MemoryBlock> first = rowPaths.isEmpty() ? null : rowPaths.get(0);
        if (first == null || first.isEmpty()) return null;
        for (List<MemoryBlock> p : rowPaths) if (!p.equals(first)) return null;
        return first;
    }

    private MemoryBranch fusedPlan(List<MemoryBlock> path, int rows, NDManager m) {
        int width = 0;
        for (MemoryBlock b : path) width += b.neurons();
        if (fused != null && fused.width() != width) {
            fused.close();
            fused = null;
        }
        if (fused == null) fused = new PathSlab(layers, width, hidden, 1, manager);
        if (!fused.has(path)) {
            if (fused.used() > 0) fused.release(fused.pathAt(0));
            fused.acquire(path);
        }
        return SlabPlan.of(fused, new int[rows], m);  // every row on slot 0: one plain SwiGLU
    }

    /** Distinct blocks held at each level now. */
    public int[] used() {
        int[] u = new int[slabs.size()];
        for (int i = 0; i < u.length; i++) u[i] = slabs.get(i).used();
        return u;
    }

    /** Native bytes held (every slab counts whole). */
    public long bytes() {
        long b = fused == null ? 0 : fused.bytes();
        for (PathSlab s : slabs) b += s.bytes();
        return b;
    }

    @Override
    public void close() {
        for (PathSlab s : slabs) s.close();
        slabs.clear();
        if (fused != null) fused.close();
        fused = null;
    }
}
