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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LevelSlabsTest {

    static final int LAYERS = 2, D = 16;
    static NDManager manager;

    @BeforeAll
    static void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    static MemoryBlock block(String path, int r, int seed) {
        ai.djl.engine.Engine.getInstance().setRandomSeed(seed);
        NDArray data = manager.randomNormal(0, 0.3f, new Shape(LAYERS, 3, r, D), DataType.FLOAT32);
        return new MemoryBlock(new BlockId(MemoryPath.parse(path)), data);
    }

    static float maxDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void perLevelSumEqualsConcatenatedPathsAcrossSlotMoves() {
        MemoryBlock l1a = block("1", 6, 1), l1b = block("2", 6, 2);
        MemoryBlock l2a = block("1.1", 3, 3), l2b = block("1.2", 3, 4), l2c = block("2.1", 3, 5);
        MemoryBlock l3a = block("1.1.1", 2, 6), l3b = block("1.2.1", 2, 7), l3c = block("2.1.1", 2, 8);
        List<MemoryBlock> p1 = List.of(l1a, l2a, l3a), p2 = List.of(l1a, l2b, l3b), p3 = List.of(l1b, l2c, l3c);
        List<MemoryBlock> shallow = List.of(l1a, l2a);  // a forced depth-2 path shares two slots with p1
        try (NDManager m = manager.newSubManager(); LevelSlabs slabs = new LevelSlabs(LAYERS, D, 3, m)) {
            for (List<MemoryBlock> p : List.of(p1, p2, p3, shallow, p1)) slabs.acquire(p);
            assertThat(slabs.used()).containsExactly(2, 3, 3);
            slabs.release(p2);  // l2b and l3b leave; the last slots move into their holes
            assertThat(slabs.used()).containsExactly(2, 2, 2);
            // Popular l1a: four rows, so its extra rows take the overflow GEMM at level 1.
            List<List<MemoryBlock>> rows = List.of(p1, p3, List.of(), shallow, p1, p3, p1);
            NDArray h = manager.randomNormal(0, 1f, new Shape(rows.size(), 2, D), DataType.FLOAT32);
            MemoryBranch viaSlabs = slabs.plan(rows, m);
            MemoryBranch viaPaths = MemoryPlan.of(concatenated(rows, m), m);
            for (int layer = 0; layer < LAYERS; layer++) {
                NDArray expected = viaPaths.apply(layer, h);
                assertThat(expected.abs().max().getFloat()).isGreaterThan(0.01f);
                assertThat(maxDiff(viaSlabs.apply(layer, h), expected)).isLessThan(1e-5f);
            }
        }
    }

    @Test
    void aBatchOnOnePathUsesItsFusedBlocksAndFollowsAChangeOfPath() {
        MemoryBlock l1 = block("1", 6, 11), l2a = block("1.1", 3, 12), l2b = block("1.2", 3, 13);
        List<MemoryBlock> pa = List.of(l1, l2a), pb = List.of(l1, l2b);
        try (NDManager m = manager.newSubManager(); LevelSlabs slabs = new LevelSlabs(LAYERS, D, 2, m)) {
            slabs.acquire(pa);
            slabs.acquire(pb);
            long levelBytes = slabs.bytes();
            NDArray h = manager.randomNormal(0, 1f, new Shape(3, 1, D), DataType.FLOAT32);
            for (List<MemoryBlock> p : List.of(pa, pb, pa)) {
                List<List<MemoryBlock>> rows = List.of(p, p, p);
                MemoryBranch fused = slabs.plan(rows, m), reference = MemoryPlan.of(concatenated(rows, m), m);
                for (int layer = 0; layer < LAYERS; layer++) {
                    assertThat(maxDiff(fused.apply(layer, h), reference.apply(layer, h))).isLessThan(1e-5f);
                }
            }
            assertThat(slabs.bytes()).as("one fused path held beside the level slabs").isGreaterThan(levelBytes);
        }
    }

    /** Each row's blocks as one path memory, the reference the slabs must equal. */
    static List<List<FfnMemory>> concatenated(List<List<MemoryBlock>> rows, NDManager m) {
        List<List<FfnMemory>> out = new ArrayList<>();
        for (List<MemoryBlock> r : rows) out.add(r.isEmpty() ? List.of() : List.of(new PathMemory(r, LAYERS, m)));
        return out;
    }

    @Test
    void fullLevelRefusesANewBlockButSharesAHeldOne() {
        MemoryBlock a = block("1", 4, 1), b = block("2", 4, 2);
        MemoryBlock a1 = block("1.1", 2, 3), a2 = block("1.2", 2, 4), b1 = block("2.1", 2, 5);
        try (NDManager m = manager.newSubManager(); LevelSlabs slabs = new LevelSlabs(LAYERS, D, 2, m)) {
            slabs.acquire(List.of(a, a1));
            slabs.acquire(List.of(b, b1));
            assertThat(slabs.hasRoomFor(List.of(a, a1))).isTrue();
            assertThat(slabs.hasRoomFor(List.of(a, a2))).isFalse();  // level 2 holds a1 and b1
            assertThatThrownBy(() -> slabs.acquire(List.of(a, a2))).hasMessageContaining("full");
            slabs.release(List.of(b, b1));
            assertThat(slabs.hasRoomFor(List.of(a, a2))).isTrue();
        }
    }

    @Test
    void pathOfOtherBlockWidthsDoesNotFit() {
        try (NDManager m = manager.newSubManager(); LevelSlabs slabs = new LevelSlabs(LAYERS, D, 2, m)) {
            slabs.acquire(List.of(block("1", 4, 1), block("1.1", 2, 2)));
            List<MemoryBlock> other = List.of(block("2", 5, 3), block("2.1", 2, 4));
            assertThat(slabs.fits(other)).isFalse();
            assertThatThrownBy(() -> slabs.acquire(other)).hasMessageContaining("widths");
        }
    }
}
