package dev.hmem.runtime.ffn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.hmem.runtime.tensor.Ops;

/**
 * The memory branch of a batch whose rows use paths held in a {@link PathSlab}: rows are gathered
 * into one padded block per slot (G slots × m rows, m the largest group), a batched GEMM applies
 * every path's gate/up at once, another its down projection, and the rows are put back in batch
 * order. About a dozen kernels per layer however many paths the batch mixes; the price is the
 * padding rows' FLOPs, small next to the anchor's since memories are narrow.
 */
public final class SlabPlan implements MemoryBranch {

    private final PathSlab slab;
    private final int slots;
    private final int rowsPerSlot;
    private final NDArray gather;    // (slots * m): batch row for each padded position
    private final NDArray scatter;   // (n): output row of each batch row; rows without slab memory read a zero row
    private final boolean zeroRow;   // whether some row has no slab memory (the outputs end with a zero row)
    private final NDArray slotIdx;   // null when the plan uses slots 0..slots-1, else which slots
    private final int onlySlot;      // >= 0: every row uses this one slot (no gather, no padding)
    private final NDArray overflow;  // rows of the largest group beyond rowsPerSlot, or null
    private final int overflowSlot;

    private SlabPlan(PathSlab slab, int slots, int rowsPerSlot, NDArray gather, NDArray scatter, boolean zeroRow,
                     NDArray slotIdx, int onlySlot, NDArray overflow, int overflowSlot) {
        this.slab = slab;
        this.slots = slots;
        this.rowsPerSlot = rowsPerSlot;
        this.gather = gather;
        this.scatter = scatter;
        this.zeroRow = zeroRow;
        this.slotIdx = slotIdx;
        this.onlySlot = onlySlot;
        this.overflow = overflow;
        this.overflowSlot = overflowSlot;
    }

    /**
     * @param rowSlot slab slot of each row, -1 for rows whose memory is not in the slab
     * @return the plan, or {@link MemoryBranch#NONE} when no row uses the slab
     */
    public static MemoryBranch of(PathSlab slab, int[] rowSlot, NDManager m) {
        int n = rowSlot.length;
        int[] count = new int[slab.used()];
        int any = 0;
        for (int s : rowSlot) {
            if (s >= 0) {
                count[s]++;
                any++;
            }
        }
        if (any == 0) return MemoryBranch.NONE;
        if (any == n) {
            int first = rowSlot[0];
            boolean same = true;
            for (int s : rowSlot) same &= s == first;
            if (same) return new SlabPlan(slab, 1, n, null, null, false, null, first, null, -1);
        }
        // Slots present in this batch, in slot order; contiguous from 0 for a decode step.
        int[] dense = new int[count.length];
        int g = 0, biggest = -1;
        for (int s = 0; s < count.length; s++) {
            dense[s] = count[s] > 0 ? g++ : -1;
            if (count[s] > 0 && (biggest < 0 || count[s] > count[biggest])) biggest = s;
        }
        // Popular paths would set the padding for every path: the largest group is cut to the size
        // of the second largest, and its extra rows run as one plain GEMM on its slot.
        int max = 0;
        for (int s = 0; s < count.length; s++) if (s != biggest) max = Math.max(max, count[s]);
        max = Math.max(1, g == 1 ? count[biggest] : max);
        int extra = count[biggest] - Math.min(count[biggest], max);
        boolean contiguous = allLeading(count, g);
        // Padding positions read row 0: their outputs are never scattered back, so any row will do.
        long[] gatherIdx = new long[g * max];
        long[] overflowIdx = new long[extra];
        long[] scatterIdx = new long[n];
        // Output rows: G*max padded positions, then the overflow rows, then one zero row.
        java.util.Arrays.fill(scatterIdx, (long) g * max + extra);
        int[] fill = new int[g];
        int over = 0;
        for (int row = 0; row < n; row++) {
            if (rowSlot[row] < 0) continue;
            int d = dense[rowSlot[row]];
            if (fill[d] < max) {
                int pos = d * max + fill[d]++;
                gatherIdx[pos] = row;
                scatterIdx[row] = pos;
            } else {
                overflowIdx[over] = row;
                scatterIdx[row] = (long) g * max + over++;
            }
        }
        NDArray slotIdx = null;
        if (!contiguous) {
            long[] which = new long[g];
            for (int s = 0; s < count.length; s++) if (dense[s] >= 0) which[dense[s]] = s;
            slotIdx = m.create(which);
        }
        return new SlabPlan(slab, g, max, m.create(gatherIdx), m.create(scatterIdx), any < n, slotIdx, -1,
                extra > 0 ? m.create(overflowIdx) : null, biggest);
    }

    private static boolean allLeading(int[] count, int g) {
        for (int s = 0; s < g; s++) if (count[s] == 0) return false;
        return true;
    }

    @Override
    public NDArray apply(int layer, NDArray h) {
        if (onlySlot >= 0) {
            // One path for the whole batch: a plain (wider) SwiGLU on the slot's weights.
            NDArray gu = slab.gateUp(layer, slab.used()).get("{}", onlySlot);                  // (2R, d)
            NDList halves = Ops.halves(Ops.linear(h, gu));
            return Ops.swiglu(halves.get(0), halves.get(1)).matMul(slab.downT(layer, slab.used()).get("{}", onlySlot));
        }
        long n = h.getShape().get(0), t = h.getShape().get(1), d = h.getShape().get(2);
        // Row gathers and scatters as embedding lookups (index_select): a few times cheaper per call
        // than advanced indexing, and a decode step makes a few dozen of them.
        NDArray rows = h.reshape(n, t * d);
        NDArray x = Ops.rows(rows, gather).reshape(slots, rowsPerSlot * t, d);                 // (G, mT, d)
        NDArray gu = slotIdx == null ? slab.gateUp(layer, slots) : slab.gateUp(layer, slab.used()).get(new NDIndex("{}", slotIdx));
        NDArray dn = slotIdx == null ? slab.downT(layer, slots) : slab.downT(layer, slab.used()).get(new NDIndex("{}", slotIdx));
        NDList halves = Ops.halves(x.matMul(gu.transpose(0, 2, 1)));                          // (G, mT, R) twice
        NDArray y = Ops.swiglu(halves.get(0), halves.get(1)).matMul(dn)                        // (G, mT, d)
                .reshape((long) slots * rowsPerSlot, t * d);
        NDList out = new NDList(y);
        if (overflow != null) {
            NDArray xo = Ops.rows(rows, overflow);                                             // (extra, T d)
            NDList ho = Ops.halves(Ops.linear(xo.reshape(-1, d), slab.gateUp(layer, slab.used()).get("{}", overflowSlot)));
            out.add(Ops.swiglu(ho.get(0), ho.get(1)).matMul(slab.downT(layer, slab.used()).get("{}", overflowSlot)).reshape(-1, t * d));
        }
        if (zeroRow) out.add(rows.get("0:1").zerosLike());
        NDArray all = out.size() == 1 ? y : NDArrays.concat(out, 0);
        return Ops.rows(all, scatter).reshape(n, t, d);                                        // (n, T, d)
    }
}
