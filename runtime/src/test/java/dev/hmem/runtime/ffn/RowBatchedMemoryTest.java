package dev.hmem.runtime.ffn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hmem.runtime.bank.FfnMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The batched per-row branch computes what grouping per memory computes: outputs and gradients. */
class RowBatchedMemoryTest {

    /** A trainable block of {@code r} neurons over 2 layers of width 8. */
    record Block(NDArray data, int r, boolean whole) implements FfnMemory {
        @Override public int neurons() { return r; }
        @Override public NDArray gateUp(int layer) { return data.get("{}, 0:2", layer).reshape(2L * r, 8); }
        @Override public NDArray downT(int layer) { return data.get("{}, 2", layer); }
        @Override public NDArray data() { return whole ? data : null; }
    }

    @Test
    void matchesTheGroupedPlanInValueAndGradientStackingWholeBlocks() {
        matches(true);
    }

    @Test
    void matchesTheGroupedPlanInValueAndGradientStackingLayerViews() {
        matches(false);
    }

    void matches(boolean whole) {
        try (NDManager m = NDManager.newBaseManager()) {
            Random rnd = new Random(1);
            List<NDArray> params = new ArrayList<>();
            List<Block> top = new ArrayList<>(), leaf = new ArrayList<>();
            for (int i = 0; i < 3; i++) top.add(block(m, 6, params, whole));
            for (int i = 0; i < 5; i++) leaf.add(block(m, 4, params, whole));
            Block generic = block(m, 3, params, whole);
            List<List<FfnMemory>> rows = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                int kind = rnd.nextInt(5);
                if (kind == 0) rows.add(List.of());
                else if (kind == 1) rows.add(List.of(generic));
                else rows.add(List.of(top.get(rnd.nextInt(3)), leaf.get(rnd.nextInt(5))));
            }
            NDArray h = m.randomNormal(new Shape(9, 5, 8));
            float[][] grouped = run(m, params, h, MemoryPlan.of(rows, m));
            MemoryBranch batched = RowBatchedMemory.of(rows, m);
            assertThat(batched).isInstanceOf(RowBatchedMemory.class);
            float[][] stacked = run(m, params, h, batched);
            for (int i = 0; i < grouped.length; i++) {
                assertThat(stacked[i]).as("output and gradients, part %d", i).hasSize(grouped[i].length);
                for (int j = 0; j < grouped[i].length; j++) assertThat(stacked[i][j]).isCloseTo(grouped[i][j], within(1e-4f));
            }
        }
    }

    static Block block(NDManager m, int r, List<NDArray> params, boolean whole) {
        NDArray d = m.randomNormal(new Shape(2, 3, r, 8)).mul(0.3f);
        d.setRequiresGradient(true);
        params.add(d);
        return new Block(d, r, whole);
    }

    /** The branch's output for both layers, then every parameter's gradient of its squared sum. */
    static float[][] run(NDManager m, List<NDArray> params, NDArray h, MemoryBranch b) {
        List<float[]> out = new ArrayList<>();
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y0 = b.apply(0, h), y1 = b.apply(1, h);
            out.add(y0.toFloatArray());
            out.add(y1.toFloatArray());
            gc.backward(y0.square().sum().add(y1.mul(y1.add(1)).sum()));
        }
        for (NDArray p : params) {
            out.add(p.getGradient().toFloatArray());
            p.getGradient().subi(p.getGradient());
        }
        return out.toArray(new float[0][]);
    }
}
