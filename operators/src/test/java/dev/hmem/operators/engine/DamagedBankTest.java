package dev.hmem.operators.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.BlockStore;
import dev.hmem.runtime.bank.LocalBlockStore;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bank damaged on disk degrades, never stops and never lies: a block that fails its checksum or its read is
 * quarantined (not read again for every prompt), a path is handed out as its healthy prefix, and a file truncated or
 * rewritten under an open bank is an error for the blocks it hits, not a crash.
 */
class DamagedBankTest {

    static final Executor INLINE = Runnable::run;

    @TempDir
    Path tmp;

    /** A fresh bank (k=4, depth 2, r 8 + 4, a generic memory) in its own directory. */
    Path bank(String name, long seed) throws IOException {
        Path dir = tmp.resolve(name);
        try (AnchorWeights w = AnchorWeights.random(TestModels.tinyConfig(300, 298, 299), 1)) {
            TestModels.smallBank(dir, w, false, seed);
        }
        return dir;
    }

    /** A store that counts the reads of each file range. */
    static final class CountingStore implements BlockStore {
        final LocalBlockStore local;
        final Map<String, AtomicInteger> reads = new ConcurrentHashMap<>();

        CountingStore(Path dir) {
            local = new LocalBlockStore(dir);
        }

        @Override
        public ByteBuffer read(String file, long offset, int length) throws IOException {
            reads.computeIfAbsent(file + "@" + offset, k -> new AtomicInteger()).incrementAndGet();
            return local.read(file, offset, length);
        }

        @Override public long size(String file) throws IOException { return local.size(file); }
        @Override public boolean exists(String file) throws IOException { return local.exists(file); }
        @Override public String location() { return local.location(); }
        @Override public void close() throws IOException { local.close(); }
    }

    /** Flips bytes inside the stored block {@code id}. */
    static void corrupt(Path dir, MemoryBank b, BlockId id, Random rnd) throws IOException {
        BankManifest.Level l = id.isGeneric() ? b.manifest().generic() : b.manifest().level(id.level());
        long index = id.isGeneric() ? 0 : id.node().nodeIndex(b.tree().branching());
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(l.file()).toFile(), "rw")) {
            for (int i = 0; i < 4; i++) {
                long at = l.offsetOf(index) + rnd.nextInt((int) l.blockBytes());
                f.seek(at);
                int v = f.read();
                f.seek(at);
                f.write(v ^ (1 + rnd.nextInt(255)));
            }
        }
    }

    static List<BlockId> path(MemoryBank b, String p) {
        return b.blocksFor(MemoryPath.parse(p));
    }

    static final class Failures implements EngineMetrics {
        final AtomicInteger failed = new AtomicInteger();
        @Override public void blockFailed(int level) { failed.incrementAndGet(); }
    }

    @Test
    void aCorruptBlockIsQuarantinedReadOnceAndEveryPathGetsItsHealthyPrefix() throws Exception {
        Path dir = bank("corrupt", 3);
        Random rnd = new Random(7);
        CountingStore store = new CountingStore(dir);
        try (MemoryBank b = MemoryBank.open(store)) {
            corrupt(dir, b, new BlockId(MemoryPath.parse("2.1")), rnd);
            Failures m = new Failures();
            try (BlockCache cache = new BlockCache(b, 1L << 30, 1, 60_000, INLINE, m)) {
                for (int i = 0; i < 5; i++) {
                    BlockCache.PathBlocks pb = cache.acquirePath(path(b, "2.1")).get();
                    assertThat(pb.fellBack()).isTrue();
                    assertThat(pb.failed()).hasToString("2.1");
                    assertThat(pb.reason()).contains("corrupt").contains("CRC32C");
                    assertThat(pb.blocks()).extracting(x -> x.id().toString()).containsExactly("2");
                    pb.blocks().forEach(MemoryBlock::release);
                }
                // Neighbours of the broken block are whole.
                BlockCache.PathBlocks ok = cache.acquirePath(path(b, "2.2")).get();
                assertThat(ok.fellBack()).isFalse();
                assertThat(ok.blocks()).hasSize(2);
                ok.blocks().forEach(MemoryBlock::release);
                long offset = b.manifest().level(2).offsetOf(MemoryPath.parse("2.1").nodeIndex(4));
                assertThat(store.reads.get(b.manifest().level(2).file() + "@" + offset).get()).as("read once, then quarantined").isEqualTo(1);
                assertThat(m.failed.get()).isEqualTo(1);
                assertThat(cache.quarantined()).isEqualTo(1);
            }
        }
    }

    @Test
    void aBlockCorruptedAfterItWasCachedAndEvictedFallsBackOnItsNextLoad() throws Exception {
        Path dir = bank("evicted", 4);
        try (MemoryBank b = MemoryBank.open(dir)) {
            // No room for leaves (level 1 is pinned): a leaf is cached, handed out and evicted at once.
            try (BlockCache cache = new BlockCache(b, 0, 1, 60_000, INLINE, EngineMetrics.NONE)) {
                BlockCache.PathBlocks first = cache.acquirePath(path(b, "3.3")).get();
                assertThat(first.fellBack()).isFalse();
                first.blocks().forEach(MemoryBlock::release);
                assertThat(cache.isCached(path(b, "3.3").get(1))).isFalse();
                assertThat(first.blocks().get(1).isFreed()).as("evicted and released: its memory is gone").isTrue();
                corrupt(dir, b, new BlockId(MemoryPath.parse("3.3")), new Random(1));
                BlockCache.PathBlocks again = cache.acquirePath(path(b, "3.3")).get();
                assertThat(again.fellBack()).isTrue();
                assertThat(again.blocks()).extracting(x -> x.id().toString()).containsExactly("3");
                again.blocks().forEach(MemoryBlock::release);
            }
        }
    }

    @Test
    void aBrokenGenericMemoryOrLevelOneBlockLeavesTheAnchorAlone() throws Exception {
        Path dir = bank("generic", 5);
        try (MemoryBank b = MemoryBank.open(dir)) {
            corrupt(dir, b, BlockId.GENERIC, new Random(2));
            corrupt(dir, b, new BlockId(MemoryPath.parse("1")), new Random(3));
            try (BlockCache cache = new BlockCache(b, 1L << 30, 1, 60_000, INLINE, EngineMetrics.NONE)) {
                BlockCache.PathBlocks g = cache.acquirePath(List.of(BlockId.GENERIC)).get();
                assertThat(g.fellBack()).isTrue();
                assertThat(g.blocks()).isEmpty();
                BlockCache.PathBlocks p = cache.acquirePath(path(b, "1.3")).get();
                assertThat(p.failed()).hasToString("1");
                assertThat(p.blocks()).as("a leaf means nothing without the blocks above it").isEmpty();
            }
        }
    }

    /**
     * Random damage, many times: whatever blocks are corrupted, a path is its longest prefix of healthy blocks, and no
     * block a path gets is one that was corrupted.
     */
    @Test
    void anyDamageGivesEachPathItsLongestHealthyPrefix() throws Exception {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 6; trial++) {
            Path dir = bank("random-" + trial, 20 + trial);
            try (MemoryBank b = MemoryBank.open(dir)) {
                List<String> broken = new ArrayList<>();
                for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
                    String id = rnd.nextBoolean() ? Integer.toString(rnd.nextInt(4)) : rnd.nextInt(4) + "." + rnd.nextInt(4);
                    broken.add(id);
                    corrupt(dir, b, new BlockId(MemoryPath.parse(id)), rnd);
                }
                try (BlockCache cache = new BlockCache(b, 1L << 30, 1, 60_000, INLINE, EngineMetrics.NONE)) {
                    for (int i = 0; i < 4; i++) {
                        for (int j = 0; j < 4; j++) {
                            String leaf = i + "." + j;
                            BlockCache.PathBlocks pb = cache.acquirePath(path(b, leaf)).get();
                            int expected = broken.contains(Integer.toString(i)) ? 0 : broken.contains(leaf) ? 1 : 2;
                            assertThat(pb.blocks()).as("%s with %s broken", leaf, broken).hasSize(expected);
                            assertThat(pb.fellBack()).isEqualTo(expected < 2);
                            pb.blocks().forEach(MemoryBlock::release);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aFileTruncatedUnderAnOpenBankIsAnErrorForItsBlocksNotACrashAndHealsWhenRestored() throws Exception {
        Path dir = bank("truncated", 6);
        try (MemoryBank b = MemoryBank.open(dir)) {
            String file = b.manifest().level(2).file();
            byte[] whole = Files.readAllBytes(dir.resolve(file));
            // Keep the first half of the leaf level: blocks past it are gone.
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve(file).toFile(), "rw")) {
                f.setLength(whole.length / 2);
            }
            try (BlockCache cache = new BlockCache(b, 1L << 30, 1, 100, INLINE, EngineMetrics.NONE)) {
                BlockCache.PathBlocks late = cache.acquirePath(path(b, "3.3")).get();
                assertThat(late.fellBack()).isTrue();
                assertThat(late.reason()).contains("truncated");
                assertThat(late.blocks()).hasSize(1);
                late.blocks().forEach(MemoryBlock::release);
                BlockCache.PathBlocks early = cache.acquirePath(path(b, "0.0")).get();
                assertThat(early.fellBack()).isFalse();
                early.blocks().forEach(MemoryBlock::release);
                // The file is restored; once the quarantine (100 ms here) is over, the block reads again.
                Files.write(dir.resolve(file), whole);
                Thread.sleep(150);
                BlockCache.PathBlocks healed = cache.acquirePath(path(b, "3.3")).get();
                assertThat(healed.fellBack()).isFalse();
                assertThat(cache.quarantined()).isZero();
                healed.blocks().forEach(MemoryBlock::release);
            }
        }
    }
}
