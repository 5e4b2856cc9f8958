package dev.hmem.runtime.ffn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.tensor.Ops;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory branch of a training batch in which most rows have their own path: each row's block
 * of a level is stacked into one {@code (rows, 2r, d)} and one {@code (rows, r, d)} tensor and the
 * branch runs as one batched matrix multiply per level and layer, where {@link MemoryPlan} would
 * run a small chain of kernels per group — 16 groups cost more than the anchor itself. Rows whose
 * path has another shape (the generic memory, no memory) go through a {@link MemoryPlan}. Stacking
 * is differentiable, so each block receives the gradients of its rows.
 */
public final class RowBatchedMemory implements MemoryBranch {

    private final int[] widths;              // r per level of the stacked rows
    private final List<List<FfnMemory>> byLevel;  // level -> the stacked rows' memories, in row order
    private final NDArray[] whole;           // level -> (s, L, 3, r, d) when every memory is one array, else null
    private final NDArray gather;            // batch row -> row of [stacked rows ; zero row], null = all rows stacked
    private final NDArray stacked;           // the stacked rows' batch indices, null = all rows
    private final int stackedRows;
    private final MemoryBranch rest;

    private RowBatchedMemory(int[] widths, List<List<FfnMemory>> byLevel, NDArray gather, NDArray stacked,
                             int stackedRows, MemoryBranch rest) {
        this.widths = widths;
        this.byLevel = byLevel;
        this.whole = new NDArray[widths.length];
        this.gather = gather;
        this.stacked = stacked;
        this.stackedRows = stackedRows;
        this.rest = rest;
    }

    /**
     * The branch for a batch where row i uses {@code rows.get(i)}: the rows whose blocks have the
     * widths of the first row with a multi-level path are stacked, the others planned per group.
     */
    public static MemoryBranch of(List<? extends List<? extends FfnMemory>> rows, NDManager manager) {
        int[] widths = null;
        for (List<? extends FfnMemory> r : rows) {
            if (r.size() >= 2) {
                widths = widthsOf(r);
                break;
            }
        }
        if (widths == null) return MemoryPlan.of(rows, manager);
        List<List<FfnMemory>> byLevel = new ArrayList<>();
        for (int l = 0; l < widths.length; l++) byLevel.add(new ArrayList<>());
        List<List<? extends FfnMemory>> others = new ArrayList<>();
        long[] gather = new long[rows.size()];
        long[] rowsOf = new long[rows.size()];
        int stacked = 0;
        for (int i = 0; i < rows.size(); i++) {
            List<? extends FfnMemory> r = rows.get(i);
            if (java.util.Arrays.equals(widthsOf(r), widths)) {
                for (int l = 0; l < widths.length; l++) byLevel.get(l).add(r.get(l));
                rowsOf[stacked] = i;
                gather[i] = stacked++;
                others.add(List.of());
            } else {
                gather[i] = -1;
                others.add(r);
            }
        }
        if (stacked < 2) return MemoryPlan.of(rows, manager);
        boolean all = stacked == rows.size();
        if (!all) for (int i = 0; i < gather.length; i++) if (gather[i] < 0) gather[i] = stacked;  // the zero row
        MemoryPlan rest = MemoryPlan.of(others, manager);
        return new RowBatchedMemory(widths, byLevel, all ? null : manager.create(gather),
                all ? null : manager.create(java.util.Arrays.copyOf(rowsOf, stacked)), stacked,
                rest.isEmpty() ? MemoryBranch.NONE : rest);
    }

    private static int[] widthsOf(List<? extends FfnMemory> r) {
        int[] w = new int[r.size()];
        for (int i = 0; i < w.length; i++) w[i] = r.get(i).neurons();
        return w;
    }

    @Override
    public NDArray apply(int layer, NDArray h) {
        NDArray hs = stacked == null ? h : h.get(new NDIndex("{}", stacked));  // (s, T, d)
        NDArray total = null;
        for (int l = 0; l < widths.length; l++) {
            NDArray gateUp, downT;
            if (whole[l] == null && layer == 0) {
                // One stack of whole blocks per level and forward pass instead of two per layer: the
                // autograd graph of a training step shrinks by the number of layers. Stacked at the
                // first layer, so inside whatever gradient recording the forward pass runs in.
                NDList datas = new NDList(stackedRows);
                for (FfnMemory m : byLevel.get(l)) datas.add(m.data());
                if (datas.stream().noneMatch(java.util.Objects::isNull)) whole[l] = NDArrays.stack(datas);
            }
            if (whole[l] != null) {
                Shape w = whole[l].getShape();                          // (s, L, 3, r, d)
                gateUp = whole[l].get(":, {}, 0:2", layer).reshape(w.get(0), 2 * w.get(3), w.get(4));
                downT = whole[l].get(":, {}, 2", layer);
            } else {
                NDList gu = new NDList(stackedRows), dn = new NDList(stackedRows);
                for (FfnMemory m : byLevel.get(l)) {
                    gu.add(m.gateUp(layer));
                    dn.add(m.downT(layer));
                }
                gateUp = NDArrays.stack(gu);                            // (s, 2r, d)
                downT = NDArrays.stack(dn);                             // (s, r, d)
            }
            NDArray act = hs.matMul(gateUp.transpose(0, 2, 1));          // (s, T, 2r)
            NDList halves = Ops.halves(act);
            NDArray y = Ops.swiglu(halves.get(0), halves.get(1)).matMul(downT);  // (s, T, d)
            total = total == null ? y : total.add(y);
        }
        if (gather != null) {
            Shape s = total.getShape();
            NDArray zero = total.getManager().zeros(new Shape(1, s.get(1), s.get(2)), total.getDataType());
            total = NDArrays.concat(new NDList(total, zero), 0).get(new NDIndex("{}", gather));
        }
        NDArray other = rest.apply(layer, h);
        return other == null ? total : total.add(other);
    }
}
