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
    void aStepsBlocksAreKeptPastTheBudgetUpToTheJvmCapAndLetGoWhenClosed() {
        long jvmBefore = HeapBlocks.jvmHeld(), cap = HeapBlocks.jvmCap;
        List<MemoryBlock> step = blocks.subList(0, 4);
        long all = bytes(0) + bytes(1) + bytes(2) + bytes(3);
        try (HeapBlocks copies = new HeapBlocks(bytes(0))) {  // room for one of the four
            copies.beginStep();
            List<float[]> first = new ArrayList<>();
            for (MemoryBlock b : step) first.add(copies.of(b));
            for (int s = 0; s < 3; s++) {
                copies.beginStep();
                for (int i = 0; i < step.size(); i++) {
                    assertThat(copies.of(step.get(i))).as("step %d, block %d: copied once, not every step", s, i).isSameAs(first.get(i));
                }
            }
            assertThat(copies.heldBytes()).isEqualTo(all);
            assertThat(HeapBlocks.jvmHeld() - jvmBefore).isEqualTo(all);
            copies.beginStep();
            copies.of(blocks.get(4));  // a step that reads another block: the last step's copies are over the budget
            assertThat(copies.heldBytes()).as("back within the budget, but for this step's block").isLessThanOrEqualTo(Math.max(bytes(0), bytes(4)));
        }
        assertThat(HeapBlocks.jvmHeld()).as("closed: nothing held").isEqualTo(jvmBefore);
        try (HeapBlocks copies = new HeapBlocks(bytes(0))) {
            HeapBlocks.jvmCap = jvmBefore + bytes(0) + bytes(1);  // the JVM has room for two more
            copies.beginStep();
            for (MemoryBlock b : step) copies.of(b);
            assertThat(copies.heldBytes()).as("past the budget only as far as the JVM cap").isLessThanOrEqualTo(bytes(0) + bytes(1));
            assertThat(HeapBlocks.jvmHeld() - jvmBefore).isLessThanOrEqualTo(bytes(0) + bytes(1));
        } finally {
            HeapBlocks.jvmCap = cap;
        }
        assertThat(HeapBlocks.jvmHeld()).isEqualTo(jvmBefore);
    }

    @Test
    void aNegativeBudgetIsRefused() {
        assertThatThrownBy(() -> new HeapBlocks(-1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("budget");
    }
}
