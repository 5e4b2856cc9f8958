package dev.hmem.model.anchor;

import ai.djl.pytorch.engine.PtNDArray;
import dev.hmem.model.memory.FfnMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A decode step's memory blocks for {@link JavaDecoder}, each with the rows that use it: a block
 * shared by rows is read once per layer for all of them, as in
 * {@link dev.hmem.model.memory.LevelSlabs}.
 *
 * <p>All blocks of a layer go through two parallel splits — one for every block's gate and up
 * projections, one for every block's down projection — rather than two per block: a path is three
 * blocks and a mixed batch dozens, and a split costs a hand-off and a wait for the slowest thread,
 * which at batch 1 cost more than reading the blocks (measured: memory overhead 23% at batch 1 with
 * a split per block). The arithmetic of each output is the same whatever the split.
 */
final class MemoryGroups {

    /**
     * A block, its rows, and where its gathered inputs, gate/up outputs and activations sit in the
     * step's scratch; {@code guStart} is its first output in the concatenated gate/up index space.
     */
    private record Group(FfnMemory memory, ByteBuffer data, int[] rows, int r, int inOff, int guOff, int actOff, int guStart) {}

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

    /** Groups rows by block: {@code memory.get(b)} is row b's blocks (none, one, or a path's). */
    static MemoryGroups of(List<? extends List<? extends FfnMemory>> memory, int d) {
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
            if (m.data() == null) throw new IllegalArgumentException("memory " + m + " is not held as one array");
            ByteBuffer data = ((PtNDArray) m.data()).toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
            int[] r = rows.get(m).stream().mapToInt(Integer::intValue).toArray();
            int neurons = m.neurons();
            out.add(new Group(m, data, r, neurons, inSize, guSize, actSize, guStart));
            inSize += r.length * d;
            guSize += r.length * 2 * neurons;
            actSize += r.length * neurons;
            guStart += 2 * neurons;
        }
        return new MemoryGroups(out, inSize, guSize, actSize, guStart);
    }

    /** Adds each row's memory branch of {@code layer} to {@code x}, from the FFN input {@code f}. */
    void apply(int layer, float[] f, float[] x, int d, Parallel parallel) {
        if (groups.isEmpty()) return;
        for (Group g : groups) {
            for (int i = 0; i < g.rows.length; i++) System.arraycopy(f, g.rows[i] * d, in, g.inOff + i * d, d);
        }
        parallel.rows(guTotal, (from, to) -> gateUp(layer, d, from, to));
        for (Group g : groups) {
            for (int i = 0; i < g.rows.length; i++) {
                VectorOps.swiglu(gu, g.guOff + i * 2 * g.r, gu, g.guOff + i * 2 * g.r + g.r, act, g.actOff + i * g.r, g.r);
            }
        }
        parallel.rows(d / VectorOps.LANES, (from, to) -> {
            for (Group g : groups) {
                long downOff = 4L * layer * 3 * g.r * d + 4L * 2 * g.r * d;
                VectorOps.addRowsCombination(act, g.actOff, g.rows.length, g.r, g.data, downOff, x, g.rows, d,
                        from * VectorOps.LANES, to * VectorOps.LANES);
            }
        });
    }

    /** Gate and up outputs {@code [from, to)} of the concatenated index space, block by block. */
    private void gateUp(int layer, int d, int from, int to) {
        for (Group g : groups) {
            int lo = Math.max(from, g.guStart) - g.guStart, hi = Math.min(to, g.guStart + 2 * g.r) - g.guStart;
            if (lo >= hi) continue;
            long layerOff = 4L * layer * 3 * g.r * d;
            VectorOps.matmul(in, g.inOff, g.rows.length, d, g.data, layerOff, gu, g.guOff, 2 * g.r, lo, hi, false);
        }
    }
}
