package dev.hmem.operators.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockCacheTest {

    @TempDir
    static Path tmp;
    static MemoryBank bank;
    static ExecutorService loaders = Executors.newFixedThreadPool(2);

    @BeforeAll
    static void setUp() throws Exception {
        try (AnchorWeights w = AnchorWeights.random(TestModels.tinyConfig(300, 298, 299), 1)) {
            TestModels.smallBank(tmp.resolve("bank"), w, false, 2);  // k=4, depth 2: r 8 and 4
        }
        bank = MemoryBank.open(tmp.resolve("bank"));
    }

    @AfterAll
    static void tearDown() throws Exception {
        loaders.shutdownNow();
        bank.close();
    }

    /** Counts what the cache reports. */
    static final class Counting implements EngineMetrics {
        final AtomicInteger hits = new AtomicInteger(), misses = new AtomicInteger(), evictions = new AtomicInteger();
        @Override public void cacheHit(int level) { hits.incrementAndGet(); }
        @Override public void cacheMiss(int level) { misses.incrementAndGet(); }
        @Override public void cacheEviction(int level) { evictions.incrementAndGet(); }
    }

    static List<BlockId> path(String p) {
        return bank.blocksFor(MemoryPath.parse(p));
    }

    @Test
    void secondRequestHitsAndSharesTheBlocks() throws Exception {
        Counting m = new Counting();
        try (BlockCache cache = new BlockCache(bank, 1L << 30, 1, loaders, m)) {
            List<MemoryBlock> a = cache.acquire(path("1.2")).get();
            List<MemoryBlock> b = cache.acquire(path("1.2")).get();
            assertThat(m.misses.get()).isEqualTo(2);
            assertThat(m.hits.get()).isEqualTo(2);
            assertThat(b.get(1)).isSameAs(a.get(1));
            assertThat(a.get(1).users()).isEqualTo(2);
            for (MemoryBlock x : a) x.release();
            for (MemoryBlock x : b) x.release();
            assertThat(cache.isCached(path("1.2").get(1))).isTrue();
        }
    }

    @Test
    void evictionRespectsTheBudgetPinsLevelOneAndFreesMemoryOnceReleased() throws Exception {
        Counting m = new Counting();
        long leaf = bank.loadedBytes(path("0.0").get(1));
        // Room for three leaf blocks; level-1 blocks are pinned and do not count. Loads and Caffeine's
        // maintenance run on the calling thread, so every eviction has happened when acquire returns
        // (on the pool, a busy CI machine ran the assertions before maintenance had run).
        Executor inline = Runnable::run;
        try (BlockCache cache = new BlockCache(bank, 3 * leaf, 1, inline, m)) {
            List<MemoryBlock> held = cache.acquire(path("0.0")).get();
            List<MemoryBlock> freed = new ArrayList<>();
            for (int i = 1; i < 16; i++) {
                List<MemoryBlock> got = cache.acquire(path(i / 4 + "." + i % 4)).get();
                for (MemoryBlock b : got) b.release();
                freed.add(got.get(1));
            }
            assertThat(m.evictions.get()).isPositive();
            assertThat(cache.cachedBytes()).isLessThanOrEqualTo(3 * leaf);
            assertThat(cache.pinnedBytes()).isEqualTo(4 * bank.loadedBytes(new BlockId(MemoryPath.parse("0"))));
            // Released blocks are freed exactly when the cache has let them go.
            int evicted = 0;
            for (MemoryBlock b : freed) {
                assertThat(b.isFreed()).as("%s freed iff no longer cached", b.id()).isEqualTo(!cache.isCached(b.id()));
                if (b.isFreed()) evicted++;
            }
            // 16 leaves went through room for 3, and at most 3 of the 15 released ones stay.
            assertThat(evicted).as("15 leaves through room for 3").isGreaterThanOrEqualTo(15 - 3);
            // A block still used by a running sequence survives its eviction until released.
            MemoryBlock leaf00 = held.get(1);
            for (int i = 0; i < 200 && cache.isCached(leaf00.id()); i++) {
                for (MemoryBlock b : cache.acquire(path("3." + (i % 4))).get()) b.release();
            }
            assertThat(cache.isCached(leaf00.id())).as("pushed out by the others").isFalse();
            assertThat(leaf00.isFreed()).as("still held: not freed").isFalse();
            for (MemoryBlock b : held) b.release();
            assertThat(leaf00.isFreed()).as("released after eviction: freed").isTrue();
            for (int l = 0; l < 4; l++) assertThat(cache.isCached(new BlockId(MemoryPath.parse(Integer.toString(l))))).isTrue();
        }
    }

    @Test
    void withoutACacheEveryRequestLoadsItsOwnCopy() throws Exception {
        Counting m = new Counting();
        try (BlockCache cache = new BlockCache(bank, 0, 0, loaders, m)) {
            List<MemoryBlock> a = cache.acquire(path("2.1")).get();
            List<MemoryBlock> b = cache.acquire(path("2.1")).get();
            assertThat(b.get(0)).isNotSameAs(a.get(0));
            assertThat(m.hits.get()).isZero();
            assertThat(m.misses.get()).isEqualTo(4);
            for (MemoryBlock x : a) x.release();
            assertThat(a.get(0).isFreed()).isTrue();
            for (MemoryBlock x : b) x.release();
        }
    }
}
