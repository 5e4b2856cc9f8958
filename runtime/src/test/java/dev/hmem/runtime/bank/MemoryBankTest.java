package dev.hmem.runtime.bank;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.Progress;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.io.DType;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryBankTest {

    static AnchorWeights anchor;
    static NDManager manager;

    @BeforeAll
    static void setUp() {
        anchor = AnchorWeights.random(TestModels.tinyConfig(300, 298, 299), 3);
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void tearDown() {
        anchor.close();
        manager.close();
    }

    @Test
    void blocksRoundTripInEveryDtype(@TempDir Path dir) throws Exception {
        for (DType dtype : List.of(DType.F32, DType.BF16, DType.F16)) {
            Path bank = dir.resolve(dtype.name());
            BankManifest.Anchor info = anchor.identity();
            TestModels.randomBank(bank, info, 4, 2, new int[] {8, 4}, 6, dtype, false, 17);
            try (MemoryBank b = MemoryBank.open(bank)) {
                assertThat(b.manifest().levels()).hasSize(2);
                assertThat(b.manifest().fetchedNeurons()).isEqualTo(12);
                MemoryPath path = MemoryPath.parse("2.3");
                List<BlockId> ids = b.blocksFor(path);
                assertThat(ids).extracting(Object::toString).containsExactly("2", "2.3");
                // Level 2 blocks are written with seed-derived values: regenerate and compare.
                float[] expected = TestModels.block(info, 4, false, TestModels.blockSeed(17, 2, path.nodeIndex(4)));
                MemoryBlock blk = b.load(ids.get(1), manager);
                float[] actual = blk.data().toFloatArray();
                double tol = dtype == DType.F32 ? 0 : dtype == DType.F16 ? 1e-4 : 1e-3;
                for (int i = 0; i < expected.length; i++) {
                    assertThat((double) actual[i]).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tol));
                }
                assertThat(blk.neurons()).isEqualTo(4);
                assertThat(b.load(BlockId.GENERIC, manager).neurons()).isEqualTo(6);
            }
        }
    }

    @Test
    void aFreedBlockLeavesNothingOnItsManager(@TempDir Path dir) throws Exception {
        // Every array a block makes (its data, views, and any slice taken on the way) must go when it is freed:
        // one left attached to a cache's long-lived manager keeps the block's native storage alive for good.
        for (DType dtype : List.of(DType.F32, DType.BF16)) {
            Path bank = dir.resolve(dtype.name());
            TestModels.randomBank(bank, anchor.identity(), 4, 2, new int[] {8, 4}, 6, dtype, false, 19);
            try (MemoryBank b = MemoryBank.open(bank); NDManager m = NDManager.newBaseManager()) {
                for (BlockId id : b.allBlocks()) {
                    MemoryBlock blk = b.load(id, m).retain();
                    assertThat(m.getManagedArrays()).isNotEmpty();
                    blk.evict();
                    assertThat(blk.isFreed()).isFalse();  // still in use
                    blk.release();
                    assertThat(blk.isFreed()).isTrue();
                    assertThat(m.getManagedArrays()).as("arrays left on the manager after block %s (%s) was freed", id, dtype).isEmpty();
                }
            }
        }
    }

    @Test
    void aFlippedByteIsDetectedAndNamesTheBlock(@TempDir Path dir) throws Exception {
        BankManifest m = TestModels.smallBank(dir, anchor, false, 9);
        BankManifest.Level level2 = m.level(2);
        MemoryPath victim = MemoryPath.parse("1.2");
        long offset = level2.offsetOf(victim.nodeIndex(4)) + 100;
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(level2.file()).toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x10);
        }
        try (MemoryBank bank = MemoryBank.open(dir)) {
            assertThatThrownBy(() -> bank.load(new BlockId(victim), manager))
                    .isInstanceOf(CorruptBlockException.class)
                    .hasMessageContaining("memory block 1.2").hasMessageContaining("level 2")
                    .hasMessageContaining("CRC32C");
            // Its neighbours are intact and still load.
            assertThat(bank.load(new BlockId(MemoryPath.parse("1.1")), manager).neurons()).isEqualTo(4);
            assertThat(bank.load(new BlockId(MemoryPath.parse("1")), manager).neurons()).isEqualTo(8);
        }
    }

    @Test
    void truncatedLevelFileAndMissingManifestAreRefused(@TempDir Path dir) throws Exception {
        BankManifest m = TestModels.smallBank(dir, anchor, false, 9);
        Path level1 = dir.resolve(m.level(1).file());
        try (RandomAccessFile f = new RandomAccessFile(level1.toFile(), "rw")) {
            f.setLength(f.length() - 4);
        }
        assertThatThrownBy(() -> MemoryBank.open(dir)).isInstanceOf(BankException.class)
                .hasMessageContaining(m.level(1).file()).hasMessageContaining("truncated");
        Files.delete(dir.resolve(BankManifest.FILE));
        assertThatThrownBy(() -> MemoryBank.open(dir)).hasMessageContaining("no manifest.json");
    }

    @Test
    void aBankForAnotherAnchorIsRefused(@TempDir Path dir) throws Exception {
        TestModels.smallBank(dir, anchor, false, 1);
        try (AnchorWeights other = AnchorWeights.random(TestModels.tinyConfig(300, 298, 299), 4);
             MemoryBank bank = MemoryBank.open(dir)) {
            bank.checkAnchor(anchor.identity());
            assertThatThrownBy(() -> bank.checkAnchor(other.identity())).isInstanceOf(BankException.class)
                    .hasMessageContaining(anchor.fingerprint).hasMessageContaining(other.fingerprint);
        }
    }

    @Test
    void pathsOutsideTheTreeAreRefused(@TempDir Path dir) throws Exception {
        TestModels.smallBank(dir, anchor, false, 1);
        try (MemoryBank bank = MemoryBank.open(dir)) {
            assertThatThrownBy(() -> bank.blocksFor(MemoryPath.parse("1.7"))).hasMessageContaining("1.7")
                    .hasMessageContaining("4 children");
            assertThatThrownBy(() -> bank.blocksFor(MemoryPath.parse("1.1.1"))).hasMessageContaining("3 levels");
            assertThatThrownBy(() -> MemoryPath.parse("1.x")).hasMessageContaining("invalid memory path");
        }
    }

    @Test
    void levelWithoutBlocksIsSkippedInThePath(@TempDir Path dir) throws Exception {
        TestModels.randomBank(dir, anchor.identity(), 3, 3, new int[] {8, 4, 0}, 0, DType.F32, false, 2);
        try (MemoryBank bank = MemoryBank.open(dir)) {
            assertThat(bank.blocksFor(MemoryPath.parse("2.1.0"))).extracting(Object::toString).containsExactly("2", "2.1");
            assertThat(bank.manifest().generic()).isNull();
            assertThatThrownBy(() -> bank.load(BlockId.GENERIC, manager)).hasMessageContaining("no generic memory");
        }
    }

    /** A tree shaped like hierarchical k-means output: children scatter around their parent. */
    static ClusterTree hierarchicalTree(int k, int dim, java.util.Random rnd) {
        double[] spread = {1.0, 0.5, 0.2};
        float[][] cents = new float[3][];
        int[][] kids = new int[3][];
        for (int level = 0; level < 3; level++) {
            int nodes = (int) ClusterTree.nodes(k, level);
            cents[level] = new float[nodes * k * dim];
            kids[level] = new int[nodes];
            java.util.Arrays.fill(kids[level], k);
            for (int node = 0; node < nodes; node++) {
                float[] parent = new float[dim];
                if (level > 0) {
                    // the parent's centroid is child (node % k) of node (node / k) one level up
                    System.arraycopy(cents[level - 1], node * dim, parent, 0, dim);
                }
                for (int c = 0; c < k; c++) {
                    float[] dir = unit(dim, rnd);
                    for (int j = 0; j < dim; j++) {
                        cents[level][(node * k + c) * dim + j] = parent[j] + (float) spread[level] * dir[j];
                    }
                }
            }
        }
        return new ClusterTree(k, 3, dim, ClusterTree.MINILM, cents, kids);
    }

    static float[] unit(int dim, java.util.Random rnd) {
        float[] v = new float[dim];
        double n = 0;
        for (int j = 0; j < dim; j++) {
            v[j] = (float) rnd.nextGaussian();
            n += v[j] * v[j];
        }
        for (int j = 0; j < dim; j++) v[j] /= (float) Math.sqrt(n);
        return v;
    }

    @Test
    void treeRoutesPointsNearKnownCentroidsToTheirLeaf() {
        java.util.Random rnd = new java.util.Random(1);
        ClusterTree tree = hierarchicalTree(16, 384, rnd);
        for (int trial = 0; trial < 200; trial++) {
            MemoryPath leaf = MemoryPath.of(rnd.nextInt(16), rnd.nextInt(16), rnd.nextInt(16));
            float[] point = tree.centroid(leaf.prefix(2), leaf.digit(2));
            float[] noise = unit(384, rnd);
            for (int j = 0; j < 384; j++) point[j] += 0.05f * noise[j];
            assertThat(tree.route(point)).isEqualTo(leaf);
        }
        // A point exactly on a random tree's top-level centroid goes down that child.
        ClusterTree random = ClusterTree.random(16, 2, 384, 42);
        assertThat(random.route(random.centroid(MemoryPath.ROOT, 9)).digit(0)).isEqualTo(9);
    }

    @Test
    void progressReportsAnEta() {
        var out = new java.io.ByteArrayOutputStream();
        Progress p = new Progress("build", 10, "blocks", new java.io.PrintStream(out), 0);
        p.advance(5, "loss 1.2");
        assertThat(out.toString()).contains("[build] 5/10 blocks").contains("ETA").contains("loss 1.2");
    }
}
