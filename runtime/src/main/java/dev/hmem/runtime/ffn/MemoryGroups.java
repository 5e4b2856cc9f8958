package dev.hmem.runtime.ffn;

import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.tensor.VectorOps;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A decode step's memory blocks for {@link dev.hmem.runtime.anchor.JavaDecoder}, each with the rows that use it: a block
 * shared by rows is read once per layer for all of them, as in
 * {@link dev.hmem.runtime.ffn.LevelSlabs}.
 *
 * <p>The decoder runs the blocks inside the anchor FFN's own two parallel splits — every block's
 * gate and up outputs after the anchor's in one index space, every block's down projection on the
 * columns of x each thread adds the anchor's down projection to — rather than in splits of their
 * own: a path is three blocks and a mixed batch dozens, and a split costs a hand-off and a wait for
 * the slowest thread, which at batch 1 cost more than reading the blocks (measured: memory overhead
 * 23% at batch 1 with two splits per block, 15-18% with two per layer, 6-8% in three of four runs
 * inside the anchor's — this machine is noisy, the fourth read 21%). The arithmetic of each output
 * is the same whatever the split: the anchor's down projection is added to x before the blocks',
 * which are added in block order.
 */
public final class MemoryGroups {

    /**
     * A block, its rows, and where its gathered inputs, gate/up outputs and activations sit in the
     * step's scratch; {@code guStart} is its first output in the concatenated gate/up index space.
     */
    private record Group(float[] data, int[] rows, int r, int inOff, int guOff, int actOff, int guStart) {}

    private final List<Group> groups;
    private final float[] in, gu, act;
    private final int guTotal;

    private MemoryGroups(List<Group> groups, int inSize, int guSize, int actSize, int guTotal) {
        this.groups = groups;
        this.in = new float[inSize];
        this.gu = new float[guSize];
        this.act = new float[actSize];
        this.guTotal = guTotal;
    }

    /**
     * Groups rows by block: {@code memory.get(b)} is row b's blocks (none, one, or a path's), each
     * read from its heap copy in {@code copies}.
     */
    public static MemoryGroups of(List<? extends List<? extends FfnMemory>> memory, int d, HeapBlocks copies) {
        copies.beginStep();
        Map<FfnMemory, List<Integer>> rows = new IdentityHashMap<>();
        List<FfnMemory> order = new ArrayList<>();
        for (int b = 0; b < memory.size(); b++) {
            for (FfnMemory m : memory.get(b)) {
                rows.computeIfAbsent(m, k -> {
                    order.add(k);
                    return new ArrayList<>();
                }).add(b);
            }
        }
        List<Group> out = new ArrayList<>();
        int inSize = 0, guSize = 0, actSize = 0, guStart = 0;
        for (FfnMemory m : order) {
            float[] data = copies.of(m);
            int[] r = rows.get(m).stream().mapToInt(Integer::intValue).toArray();
            int neurons = m.neurons();
            out.add(new Group(data, r, neurons, inSize, guSize, actSize, guStart));
            inSize += r.length * d;
            guSize += r.length * 2 * neurons;
            actSize += r.length * neurons;
            guStart += 2 * neurons;
        }
        return new MemoryGroups(out, inSize, guSize, actSize, guStart);
    }

    // A layer's steps, called by the decoder in this order: gather, gateUp (split), swiglu, down (split).

    /** Outputs of every block's gate and up projections, side by side: the index space of {@link #gateUp}. */
    public int gateUpOutputs() {
        return guTotal;
    }

    /** Copies each block's rows of the FFN input {@code f} (n, d) together, for its tiles. */
    public void gather(float[] f, int d) {
        for (Group g : groups) {
            for (int i = 0; i < g.rows.length; i++) System.arraycopy(f, g.rows[i] * d, in, g.inOff + i * d, d);
        }
    }

    /** Every block's SwiGLU activations, from its gate and up outputs. */
    public void swiglu() {
        for (Group g : groups) {
            for (int i = 0; i < g.rows.length; i++) {
                VectorOps.swiglu(gu, g.guOff + i * 2 * g.r, gu, g.guOff + i * 2 * g.r + g.r, act, g.actOff + i * g.r, g.r);
            }
        }
    }

    /** Adds every block's down projection of its rows' activations to columns {@code [from, to)} of x (lane multiples). */
    public void down(int layer, float[] x, int d, int from, int to) {
        for (Group g : groups) {
            int downOff = (3 * layer + 2) * g.r * d;
            VectorOps.addRowsCombination(act, g.actOff, g.rows.length, g.r, g.data, downOff, x, g.rows, d, from, to);
        }
    }

    /** Gate and up outputs {@code [from, to)} of the concatenated index space, block by block. */
    public void gateUp(int layer, int d, int from, int to) {
        for (Group g : groups) {
            int lo = Math.max(from, g.guStart) - g.guStart, hi = Math.min(to, g.guStart + 2 * g.r) - g.guStart;
            if (lo >= hi) continue;
            int layerOff = 3 * layer * g.r * d;
            VectorOps.matmul(in, g.inOff, g.rows.length, d, g.data, layerOff, gu, g.guOff, 2 * g.r, lo, hi, false);
        }
    }
}
