package dev.hmem.runtime.ffn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.tensor.Ops;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the rows of one batch map onto memory blocks, computed once per forward pass and used by
 * every layer. Like Punica's segmented GEMM for LoRA adapters, the anchor runs once for the whole
 * batch and the memory branch once per group of rows sharing a block. Because the memory of a row
 * is the concatenation of the blocks on its path, and SwiGLU neurons are independent, the branch
 * splits exactly into one term per tree level; grouping per level lets rows that share only an
 * upper-level block still share its matrix multiply.
 */
public final class MemoryPlan implements MemoryBranch {

    /** Rows (indices into the batch; null = all rows) that use one memory at one level. */
    private record Group(NDArray rows, FfnMemory memory) {}

    /**
     * One level's groups; {@code gather} maps each batch row to its output row in the
     * concatenation of the group outputs (plus one zero row for rows without a block at this level),
     * null when a single group covers every row in order.
     */
    private record Level(List<Group> groups, NDArray gather, boolean zeroRow) {}

    public static final MemoryPlan EMPTY = new MemoryPlan(List.of());

    private final List<Level> levels;

    private MemoryPlan(List<Level> levels) {
        this.levels = levels;
    }

    public boolean isEmpty() {
        return levels.isEmpty();
    }

    /**
     * Builds the plan for a batch where row i uses the memories {@code rows.get(i)} (its path's
     * blocks top-down, or one generic memory, or none). Index arrays are created on
     * {@code manager}, which must live as long as the forward pass.
     */
    public static MemoryPlan of(List<? extends List<? extends FfnMemory>> rows, NDManager manager) {
        int n = rows.size();
        int depth = 0;
        for (List<? extends FfnMemory> r : rows) depth = Math.max(depth, r.size());
        List<Level> levels = new ArrayList<>(depth);
        for (int lv = 0; lv < depth; lv++) {
            Map<FfnMemory, List<Integer>> byMemory = new IdentityHashMap<>();
            List<FfnMemory> order = new ArrayList<>();
            int covered = 0;
            for (int i = 0; i < n; i++) {
                List<? extends FfnMemory> r = rows.get(i);
                if (lv >= r.size()) continue;
                FfnMemory m = r.get(lv);
                byMemory.computeIfAbsent(m, k -> {
                    order.add(k);
                    return new ArrayList<>();
                }).add(i);
                covered++;
            }
            if (order.size() == 1 && covered == n) {
                levels.add(new Level(List.of(new Group(null, order.get(0))), null, false));
                continue;
            }
            long[] gather = new long[n];
            boolean zeroRow = covered < n;
            java.util.Arrays.fill(gather, covered);  // the zero row sits after all group rows
            List<Group> groups = new ArrayList<>(order.size());
            int offset = 0;
            for (FfnMemory m : order) {
                List<Integer> members = byMemory.get(m);
                long[] idx = new long[members.size()];
                for (int j = 0; j < idx.length; j++) {
                    idx[j] = members.get(j);
                    gather[members.get(j)] = offset + j;
                }
                offset += idx.length;
                groups.add(new Group(manager.create(idx), m));
            }
            levels.add(new Level(groups, manager.create(gather), zeroRow));
        }
        return new MemoryPlan(levels);
    }

    /**
     * The memory branch of {@code layer} for the normalised FFN input {@code h} (n, T, d), or null
     * when no row has memory.
     */
    @Override
    public NDArray apply(int layer, NDArray h) {
        NDArray total = null;
        for (Level level : levels) {
            NDArray y;
            if (level.gather == null) {
                y = branch(h, level.groups.get(0).memory, layer);
            } else {
                NDList parts = new NDList(level.groups.size() + 1);
                for (Group g : level.groups) {
                    parts.add(branch(h.get(new NDIndex("{}", g.rows)), g.memory, layer));
                }
                if (level.zeroRow) parts.add(h.get("0:1").zerosLike());
                y = parts.size() == 1 ? parts.head() : ai.djl.ndarray.NDArrays.concat(parts, 0);
                y = y.get(new NDIndex("{}", level.gather));
            }
            total = total == null ? y : total.add(y);
        }
        return total;
    }

    /** {@code M_down (silu(M_gate h) * M_up h)} for one memory. */
    static NDArray branch(NDArray h, FfnMemory m, int layer) {
        NDList gu = Ops.halves(Ops.linear(h, m.gateUp(layer)));
        return Ops.swiglu(gu.get(0), gu.get(1)).matMul(m.downT(layer));
    }
}
