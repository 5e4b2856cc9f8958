package dev.hmem.runtime.ffn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Java path's heap copies of memory blocks: exact copies, most recent kept within the budget. */
class HeapBlocksTest {

    static NDManager manager;
    static List<MemoryBlock> blocks = new ArrayList<>();
    static final int[] WIDTHS = {8, 4, 2, 6, 1, 3, 5, 7};

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager();
        for (int i = 0; i < WIDTHS.length; i++) {
            NDArray data = manager.randomNormal(0, 1f, new Shape(2, 3, WIDTHS[i], 16), DataType.FLOAT32);
            blocks.add(new MemoryBlock(new BlockId(MemoryPath.parse(Integer.toString(i))), data));
        }
    }

    @AfterAll
    static void tearDown() {
        if (manager != null) manager.close();
    }

    static long bytes(int i) {
        return 4L * 2 * 3 * WIDTHS[i] * 16;
    }

    @Test
    void aCopyHoldsTheTensorsFloatsInItsLayout() {
        HeapBlocks copies = new HeapBlocks(1 << 20);
        for (MemoryBlock b : blocks) {
            assertThat(copies.of(b)).containsExactly(b.data().toFloatArray());
        }
    }

    /** A model of the budget: the most recently used blocks whose bytes fit, the newest always among them if it fits alone. */
    @Test
    void keepsTheMostRecentlyUsedWithinTheBudgetOverRandomUse() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 50; trial++) {
            long budget = rnd.nextLong(0, 6 * bytes(0));
            HeapBlocks copies = new HeapBlocks(budget);
            List<Integer> order = new ArrayList<>();  // least recent first, as the model keeps them
            for (int step = 0; step < 200; step++) {
                int i = rnd.nextInt(blocks.size());
                float[] first = copies.of(blocks.get(i));
                boolean wasKept = order.contains(i);
                float[] again = copies.of(blocks.get(i));
                // Kept: the same array twice; not kept (over the budget): a fresh copy each time.
                assertThat(again == first).as("block %d, budget %d", i, budget).isEqualTo(bytes(i) <= budget);
                order.remove((Integer) i);
                if (bytes(i) <= budget) {
                    order.add(i);
                    long held = 0;
                    for (int k : order) held += bytes(k);
                    while (held > budget) held -= bytes(order.remove(0));
                }
                long expected = 0;
                for (int k : order) expected += bytes(k);
                assertThat(copies.heldBytes()).as("held after block %d (was kept: %s)", i, wasKept).isEqualTo(expected)
                        .isLessThanOrEqualTo(budget);
                assertThat(copies.kept()).isEqualTo(order.size());
            }
        }
    }

    @Test
    void aMemoryThatIsNotALoadedBlockIsCopiedForEachStep() {
        MemoryBlock b = blocks.get(0);
        FfnMemory trained = new FfnMemory() {  // e.g. a block being trained: its values change
            @Override public int neurons() { return b.neurons(); }
            @Override public NDArray gateUp(int layer) { return b.gateUp(layer); }
            @Override public NDArray downT(int layer) { return b.downT(layer); }
            @Override public NDArray data() { return b.data(); }
        };
        HeapBlocks copies = new HeapBlocks(1 << 20);
        float[] one = copies.of(trained), two = copies.of(trained);
        assertThat(two).isNotSameAs(one).containsExactly(one);
        assertThat(copies.kept()).isZero();
    }

    @Test
    void aNegativeBudgetIsRefused() {
        assertThatThrownBy(() -> new HeapBlocks(-1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("budget");
    }
}
