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
import java.util.Random;
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

    @Test
    void blocksHeldAfterTheirEvictionCountAgainstTheBudgetAndTheGateRefusesMore() throws Exception {
        long leaf = bank.loadedBytes(path("0.0").get(1));
        Executor inline = Runnable::run;
        try (BlockCache cache = new BlockCache(bank, 3 * leaf, 1, inline, new Counting())) {
            // Three prompts hold three leaves: the budget is full of held blocks.
            List<List<MemoryBlock>> held = new ArrayList<>();
            for (String p : List.of("0.0", "0.1", "0.2")) {
                assertThat(cache.fits(path(p))).as(p).isTrue();
                held.add(cache.acquirePath(path(p)).get().blocks());
            }
            assertThat(cache.inUseBytes()).isEqualTo(3 * leaf);
            assertThat(cache.fits(path("1.0"))).as("a fourth held leaf would pass the budget").isFalse();
            assertThat(cache.fits(path("0.1"))).as("a leaf already held adds nothing").isTrue();
            // Fetched anyway (the gate is the engine's), the fourth pushes held leaves out of the cache; they stay in
            // memory, so the cache's own bound shrinks until it keeps nothing beyond what is held.
            held.add(cache.acquirePath(path("1.0")).get().blocks());
            assertThat(cache.outsideBytes()).isPositive();
            assertThat(cache.liveBytes()).as("nothing unheld kept").isEqualTo(4 * leaf);
            assertThat(cache.liveBytes()).isEqualTo(cache.cachedBytes() + cache.outsideBytes());
            for (MemoryBlock b : held.remove(0)) b.release();
            assertThat(cache.fits(path("1.1"))).as("still three held: no room").isFalse();
            for (MemoryBlock b : held.remove(0)) b.release();
            assertThat(cache.fits(path("1.1"))).as("room again after two releases").isTrue();
            assertThat(cache.liveBytes()).isLessThanOrEqualTo(3 * leaf);
            for (List<MemoryBlock> h : held) for (MemoryBlock b : h) b.release();
            assertThat(cache.inUseBytes()).isZero();
            assertThat(cache.outsideBytes()).isZero();
        }
    }

    @Test
    void aBlockAskedForAgainWhileStillHeldAfterItsEvictionIsTakenBackNotReadTwice() throws Exception {
        long leaf = bank.loadedBytes(path("0.0").get(1));
        Executor inline = Runnable::run;
        AtomicInteger revived = new AtomicInteger(), loads = new AtomicInteger();
        EngineMetrics m = new EngineMetrics() {
            @Override public void blockRevived(int level) { revived.incrementAndGet(); }
            @Override public void blockLoaded(int level, double millis) { loads.incrementAndGet(); }
        };
        try (BlockCache cache = new BlockCache(bank, 2 * leaf, 1, inline, m)) {
            List<MemoryBlock> running = cache.acquirePath(path("0.0")).get().blocks();  // a prompt holds leaf 0.0
            MemoryBlock first = running.get(1);
            for (int i = 0; i < 200 && cache.isCached(first.id()); i++) {
                for (MemoryBlock b : cache.acquirePath(path(1 + i % 3 + "." + i % 4)).get().blocks()) b.release();
            }
            assertThat(cache.isCached(first.id())).as("pushed out by the others").isFalse();
            assertThat(first.isFreed()).as("still held").isFalse();
            assertThat(revived.get()).isZero();
            long liveBefore = cache.liveBytes();
            int loadsBefore = loads.get();

            List<MemoryBlock> second = cache.acquirePath(path("0.0")).get().blocks();  // a second prompt on the same leaf
            assertThat(second.get(1)).as("the held copy, not a second one").isSameAs(first);
            assertThat(revived.get()).isEqualTo(1);
            assertThat(loads.get() - loadsBefore).as("level 1 is pinned and cached, the leaf taken back: nothing read").isZero();
            assertThat(cache.isCached(first.id())).isTrue();
            assertThat(cache.liveBytes()).as("no block twice in memory").isLessThanOrEqualTo(liveBefore);
            assertThat(cache.liveBytes()).isEqualTo(cache.cachedBytes() + cache.outsideBytes());
            assertThat(cache.outsideBytes()).isZero();
            assertThat(first.users()).isEqualTo(2);
            for (MemoryBlock b : running) b.release();
            for (MemoryBlock b : second) b.release();
            assertThat(first.isFreed()).as("cached again: kept").isFalse();
            assertThat(cache.inUseBytes()).isZero();
        }
    }

    @Test
    void aBlockTakenOutOfServiceIsNotTakenBack() throws Exception {
        long leaf = bank.loadedBytes(path("0.0").get(1));
        try (BlockCache cache = new BlockCache(bank, 4 * leaf, 1, (Executor) Runnable::run, new Counting())) {
            List<MemoryBlock> held = cache.acquirePath(path("2.1")).get().blocks();
            assertThat(cache.evict(id -> id.equals(path("2.1").get(1)))).isEqualTo(1);
            MemoryBlock fresh = cache.acquirePath(path("2.1")).get().blocks().get(1);
            assertThat(fresh).as("a block command dropped it: read anew").isNotSameAs(held.get(1));
            for (MemoryBlock b : held) b.release();
            assertThat(held.get(1).isFreed()).isTrue();
            fresh.release();
        }
    }

    /**
     * Property: prompts arrive on random paths, the engine's rule fetches a path only when {@link BlockCache#fits}
     * says so (otherwise it waits), and random holders release; after every event every evictable block in memory —
     * cached, held, or held after eviction — is within the budget, and the three counts agree.
     */
    @Test
    void underAnyArrivalAndReleaseOrderEvictableMemoryStaysWithinTheBudget() throws Exception {
        long leaf = bank.loadedBytes(path("0.0").get(1));
        Executor inline = Runnable::run;
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(seed);
            long budget = (2 + rnd.nextInt(6)) * leaf;
            try (BlockCache cache = new BlockCache(bank, budget, 1, inline, new Counting())) {
                List<List<MemoryBlock>> held = new ArrayList<>();
                java.util.ArrayDeque<String> waiting = new java.util.ArrayDeque<>();
                for (int event = 0; event < 300; event++) {
                    if (rnd.nextInt(3) > 0) waiting.add(rnd.nextInt(4) + "." + rnd.nextInt(4));
                    else if (!held.isEmpty()) for (MemoryBlock b : held.remove(rnd.nextInt(held.size()))) b.release();
                    while (!waiting.isEmpty() && cache.fits(path(waiting.peek()))) {
                        held.add(cache.acquirePath(path(waiting.poll())).get().blocks());
                    }
                    assertThat(cache.liveBytes()).as("seed %d event %d: evictable bytes in memory (cached %d outside %d in use %d)", seed, event, cache.cachedBytes(), cache.outsideBytes(), cache.inUseBytes())
                            .isLessThanOrEqualTo(budget);
                    assertThat(cache.liveBytes()).as("seed %d event %d: live = cached + outside", seed, event)
                            .isEqualTo(cache.cachedBytes() + cache.outsideBytes());
                    long distinctHeld = held.stream().flatMap(List::stream).filter(b -> !cache.pinned(b.id())).distinct()
                            .mapToLong(MemoryBlock::bytes).sum();
                    assertThat(cache.inUseBytes()).as("seed %d event %d: in use", seed, event).isEqualTo(distinctHeld);
                }
                for (List<MemoryBlock> h : held) for (MemoryBlock b : h) b.release();
            }
        }
    }
}
