package dev.hmem.operators.engine;

import ai.djl.ndarray.NDManager;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.hmem.operators.records.Failures;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The subtask's hot set of memory blocks: a Caffeine cache weighted in bytes (W-TinyLFU, so a scan
 * of one-off paths does not flush the popular ones), loading on a small thread pool so a miss
 * never blocks generation. Blocks of levels up to {@code pinnedLevels} and the generic memory
 * weigh nothing and are never evicted: they are few, large and shared by many paths. An evicted
 * block's native memory is freed as soon as no running sequence uses it ({@link MemoryBlock}).
 * With a zero budget and nothing pinned the cache is bypassed: every request loads its blocks.
 *
 * <p>The budget bounds every evictable block this cache loaded that is still in memory, not only the cached ones: a
 * block evicted while prompts hold it (running, or queued with their path prefetched) stays in memory until they
 * release it, so the cache's own bound shrinks by those bytes ({@link #outsideBytes()}), and {@link #fits} tells the
 * engine whether a new prompt's prefetch would push the blocks prompts hold past the budget (the engine then defers
 * that prefetch until some are released). One prompt's path larger than the budget still runs when nothing else holds
 * blocks, logged once: a budget must not stop the job. With a zero budget there is no cache to shrink, and blocks in
 * use are bounded by the batch. A block asked for again while prompts still hold it after its eviction is taken back
 * into the cache rather than read a second time ({@link MemoryBlock#revive}), so no block is ever in memory twice.
 *
 * <p>A block that fails its checksum or cannot be read is quarantined: logged once, counted, and not read again for
 * {@code quarantineMs} (a prompt needing it fails at once instead of re-reading a broken block for every prompt);
 * {@link #acquirePath} then hands out the healthy prefix of a path, so the prompt is still answered.
 */
public final class BlockCache implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BlockCache.class);

    private final MemoryBank bank;
    private final NDManager manager;
    private final Executor loader;
    private final EngineMetrics metrics;
    private final int pinnedLevels;
    private final AsyncLoadingCache<BlockId, MemoryBlock> cache;  // null = no cache
    private final AtomicLong pinnedBytes = new AtomicLong();
    private final long budgetBytes;
    /** Evictable blocks in memory (cached or not), counted from loads and frees: what the budget bounds. */
    private final AtomicLong liveBytes = new AtomicLong();
    /** Evictable blocks prompts hold (retained at least once). */
    private final AtomicLong inUseBytes = new AtomicLong();
    /** Blocks in memory outside the cache: evicted while held, or private copies. */
    private final AtomicLong outsideBytes = new AtomicLong();
    /** Estimated bytes of the paths being fetched and not yet held. */
    private final AtomicLong reservedBytes = new AtomicLong();
    private volatile long maximum;
    private volatile boolean warnedOversizedPath;
    /** Blocks evicted while prompts hold them, by id: asked for again, they are taken back instead of read again. */
    private final ConcurrentHashMap<BlockId, MemoryBlock> evictedHeld = new ConcurrentHashMap<>();
    private final MemoryBlock.Watcher watcher = new MemoryBlock.Watcher() {
        @Override public void inUse(MemoryBlock b, boolean inUse) {
            inUseBytes.addAndGet(inUse ? b.bytes() : -b.bytes());
        }
        @Override public void evictedInUse(MemoryBlock b) {
            outsideBytes.addAndGet(b.bytes());
            evictedHeld.put(b.id(), b);
        }
        @Override public void freed(MemoryBlock b, boolean wasEvictedInUse) {
            liveBytes.addAndGet(-b.bytes());
            if (wasEvictedInUse) {
                outsideBytes.addAndGet(-b.bytes());
                evictedHeld.remove(b.id(), b);
            }
        }
        @Override public void revived(MemoryBlock b) {
            outsideBytes.addAndGet(-b.bytes());
            evictedHeld.remove(b.id(), b);
        }
    };
    private final long quarantineNanos;
    /** Blocks that failed, with why and until when they are not read again. */
    private final ConcurrentHashMap<BlockId, Quarantine> quarantined = new ConcurrentHashMap<>();

    private record Quarantine(String reason, long untilNanos) {}

    /** The blocks of a path that could be had: a prefix of it, and why the rest could not (null when nothing failed). */
    public record PathBlocks(List<MemoryBlock> blocks, BlockId failed, String reason) {
        public boolean fellBack() {
            return failed != null;
        }
    }

    public BlockCache(MemoryBank bank, long budgetBytes, int pinnedLevels, Executor loader, EngineMetrics metrics) {
        this(bank, budgetBytes, pinnedLevels, 300_000, loader, metrics);
    }

    public BlockCache(MemoryBank bank, long budgetBytes, int pinnedLevels, long quarantineMs, Executor loader, EngineMetrics metrics) {
        this.bank = bank;
        this.quarantineNanos = TimeUnit.MILLISECONDS.toNanos(quarantineMs);
        this.manager = NDManager.newBaseManager();
        this.loader = loader;
        this.metrics = metrics;
        this.pinnedLevels = pinnedLevels;
        this.budgetBytes = budgetBytes;
        this.maximum = budgetBytes;
        if (budgetBytes == 0 && pinnedLevels == 0) {
            cache = null;
            return;
        }
        cache = Caffeine.newBuilder()
                // Maintenance (eviction) on the thread that wrote, not later on the pool: a loaded block then pushes
                // others out before anyone sees the cache over its bound.
                .executor(Runnable::run)
                .maximumWeight(budgetBytes)
                .weigher((BlockId id, MemoryBlock b) -> pinned(id) ? 0 : (int) Math.min(Integer.MAX_VALUE, b.bytes()))
                .evictionListener((BlockId id, MemoryBlock b, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
                    if (b != null) {
                        metrics.cacheEviction(id.level());
                        b.evict();
                    }
                })
                .buildAsync((id, executor) -> CompletableFuture.supplyAsync(() -> reviveOrLoad(id), loader));
    }

    public boolean pinned(BlockId id) {
        return id.isGeneric() || id.level() <= pinnedLevels;
    }

    /**
     * A block for the cache: the copy prompts still hold after its eviction when there is one (a popular block pushed
     * out by a burst of others is asked for again while its old users run: reading it again would hold it twice), else
     * a read. Counted as a miss all the same: the cache did not have it.
     */
    private MemoryBlock reviveOrLoad(BlockId id) {
        MemoryBlock held = evictedHeld.get(id);
        if (held != null && held.revive()) {
            metrics.blockRevived(id.level());
            return held;
        }
        return load(id);
    }

    private MemoryBlock load(BlockId id) {
        Quarantine q = quarantined.get(id);
        if (q != null && System.nanoTime() < q.untilNanos()) throw new CompletionException(new QuarantinedBlockException(id, q.reason()));
        long t0 = System.nanoTime();
        try {
            MemoryBlock b = bank.load(id, manager);
            metrics.blockLoaded(id.level(), (System.nanoTime() - t0) / 1e6);
            if (pinned(id)) {
                pinnedBytes.addAndGet(b.bytes());
            } else {
                liveBytes.addAndGet(b.bytes());
                b.watch(watcher);
            }
            if (q != null && quarantined.remove(id, q)) LOG.info("memory block {} reads correctly again: out of quarantine", id);
            return b;
        } catch (java.io.IOException | RuntimeException e) {
            String reason = Failures.describe(e);
            // Logged and counted once per quarantine, not once per prompt that needed the block.
            if (quarantined.put(id, new Quarantine(reason, System.nanoTime() + quarantineNanos)) == null || q != null) {
                metrics.blockFailed(id.level());
                LOG.error("memory block {} quarantined for {} s (prompts use the healthy prefix of their path): {}", id,
                        TimeUnit.NANOSECONDS.toSeconds(quarantineNanos), reason);
            }
            throw new CompletionException(new QuarantinedBlockException(id, reason));
        }
    }

    /** Blocks quarantined now. */
    public int quarantined() {
        long now = System.nanoTime();
        int n = 0;
        for (Quarantine q : quarantined.values()) if (now < q.untilNanos()) n++;
        return n;
    }

    /**
     * The blocks of a path ({@code ids} top-down), each retained once for the caller, when all have loaded or failed:
     * the longest prefix that loaded. A failed or quarantined block ends the prefix; the blocks below it are
     * released again, since a path's deeper blocks were trained beside its upper ones and mean nothing without them.
     */
    public CompletableFuture<PathBlocks> acquirePath(List<BlockId> ids) {
        long reserve = wantedBytes(ids);
        reservedBytes.addAndGet(reserve);
        List<CompletableFuture<MemoryBlock>> parts = new ArrayList<>(ids.size());
        for (BlockId id : ids) parts.add(acquire(id));
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0])).handle((v, err) -> {
            reservedBytes.addAndGet(-reserve);  // the blocks that loaded are held now (counted in use)
            List<MemoryBlock> prefix = new ArrayList<>(parts.size());
            BlockId failed = null;
            String reason = null;
            for (int i = 0; i < parts.size(); i++) {
                MemoryBlock b = null;
                try {
                    b = parts.get(i).join();
                } catch (CompletionException | java.util.concurrent.CancellationException e) {
                    if (failed == null) {
                        failed = ids.get(i);
                        Throwable cause = e.getCause() != null ? e.getCause() : e;
                        reason = cause instanceof QuarantinedBlockException q ? q.reason() : Failures.describe(cause);
                    }
                }
                if (b == null) continue;
                if (failed == null) prefix.add(b);
                else b.release();
            }
            resize();
            return new PathBlocks(prefix, failed, reason);
        });
    }

    /**
     * Whether fetching {@code ids} now keeps the blocks prompts hold (and are being fetched for them) within the budget,
     * or nothing is held at all (so a path larger than the budget still runs, alone). Called by the engine before a
     * prompt's prefetch; also lets the cache grow back into room that released blocks left.
     */
    public boolean fits(List<BlockId> ids) {
        if (cache == null || budgetBytes == 0) return true;
        resize();
        long held = inUseBytes.get() + reservedBytes.get(), wanted = wantedBytes(ids);
        if (held + wanted <= budgetBytes) return true;
        if (held > 0) return false;
        if (!warnedOversizedPath) {
            warnedOversizedPath = true;
            LOG.warn("a path needs {} MiB of evictable blocks, more than the block cache budget of {} MiB: such paths run "
                    + "one at a time, beyond the budget (raise --cache-mb)", wanted >> 20, budgetBytes >> 20);
        }
        return true;
    }

    /** Bytes of the evictable blocks of {@code ids} a fetch would add to those held (the ones no prompt holds yet). */
    private long wantedBytes(List<BlockId> ids) {
        long n = 0;
        for (BlockId id : ids) {
            if (pinned(id)) continue;
            if (cache != null) {
                MemoryBlock b = cache.synchronous().policy().getIfPresentQuietly(id);  // a look, not a use
                if (b != null && b.users() > 0) continue;
            }
            n += bank.loadedBytes(id);
        }
        return n;
    }

    /**
     * The cache's own bound: the budget less the held blocks it no longer contains (they are in memory all the same).
     * Shrinking may evict held blocks too (the policy does not know which are held), which frees nothing and leaves more
     * outside, so it repeats until the bound stands; each round moves at least one block out, so it ends.
     */
    private void resize() {
        if (cache == null || budgetBytes == 0) return;
        var eviction = cache.synchronous().policy().eviction().orElseThrow();
        synchronized (this) {
            for (long target = target(); target != maximum; target = target()) {
                maximum = target;
                eviction.setMaximum(target);
            }
        }
    }

    private long target() {
        return Math.max(0, budgetBytes - outsideBytes.get());
    }

    /**
     * The blocks {@code ids}, each retained once for the caller (who releases them), when all are
     * loaded. Blocks already cached count as hits; the others load in the background.
     */
    public CompletableFuture<List<MemoryBlock>> acquire(List<BlockId> ids) {
        List<CompletableFuture<MemoryBlock>> parts = new ArrayList<>(ids.size());
        for (BlockId id : ids) parts.add(acquire(id));
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0])).handle((v, err) -> {
            List<MemoryBlock> out = new ArrayList<>(parts.size());
            Throwable failure = null;
            for (CompletableFuture<MemoryBlock> f : parts) {
                try {
                    out.add(f.join());
                } catch (CompletionException e) {
                    failure = e.getCause() != null ? e.getCause() : e;
                }
            }
            if (failure != null) {
                for (MemoryBlock b : out) b.release();  // do not leak the blocks that did load
                throw new CompletionException(failure);
            }
            return out;
        });
    }

    private CompletableFuture<MemoryBlock> acquire(BlockId id) {
        Quarantine q = quarantined.get(id);
        if (q != null && System.nanoTime() < q.untilNanos()) {
            // Not through the cache: a failed load would be logged by Caffeine for every prompt that wants the block.
            return CompletableFuture.failedFuture(new QuarantinedBlockException(id, q.reason()));
        }
        if (cache == null) {
            metrics.cacheMiss(id.level());
            return CompletableFuture.supplyAsync(() -> direct(id), loader);
        }
        CompletableFuture<MemoryBlock> present = cache.getIfPresent(id);
        if (present != null && present.isDone() && !present.isCompletedExceptionally()) {
            metrics.cacheHit(id.level());
        } else {
            metrics.cacheMiss(id.level());
        }
        CompletableFuture<MemoryBlock> f = present != null ? present : cache.get(id);
        return f.thenApplyAsync(b -> {
            MemoryBlock held;
            try {
                held = b.retain();
            } catch (IllegalStateException evictedMeanwhile) {
                // Evicted and freed between load and use (the cache chose other blocks): read our own copy.
                held = direct(id);
            }
            resize();  // the load may have evicted blocks prompts hold
            return held;
        }, loader);
    }

    /** A private copy, freed when its user releases it. */
    private MemoryBlock direct(BlockId id) {
        MemoryBlock b = load(id).retain();
        if (pinned(id)) pinnedBytes.addAndGet(-b.bytes());
        b.evict();
        return b;
    }

    /** Whether {@code id} is loaded in the cache right now (a hit if acquired now). */
    public boolean isCached(BlockId id) {
        if (cache == null) return false;
        // Quietly: a look is not a use. Counted as one, a block that is looked at often (the gate and the admission
        // queue ask about waiting prompts' blocks again and again) would never be evicted.
        return cache.synchronous().policy().getIfPresentQuietly(id) != null;
    }

    /** Bytes of evictable blocks in memory, cached or held by prompts after eviction (what the budget bounds). */
    public long liveBytes() {
        return liveBytes.get();
    }

    /** Bytes of evictable blocks prompts hold (running, or queued with their blocks fetched). */
    public long inUseBytes() {
        return inUseBytes.get();
    }

    /** Bytes of blocks in memory that the cache no longer contains (evicted while held, or private copies). */
    public long outsideBytes() {
        return outsideBytes.get();
    }

    /** Bytes of evictable cached blocks. */
    public long cachedBytes() {
        return cache == null ? 0 : cache.synchronous().policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
    }

    /** Bytes of pinned blocks. */
    public long pinnedBytes() {
        return pinnedBytes.get();
    }

    public long entries() {
        return cache == null ? 0 : cache.synchronous().estimatedSize();
    }

    /**
     * Drops the cached blocks {@code which} selects (memories a block command took out of service); a block a running
     * sequence still holds is freed when that sequence releases it. Returns how many were dropped.
     */
    public int evict(java.util.function.Predicate<BlockId> which) {
        if (cache == null) return 0;
        int n = 0;
        var map = cache.synchronous().asMap();
        for (BlockId id : List.copyOf(map.keySet())) {
            if (!which.test(id)) continue;
            MemoryBlock b = map.remove(id);
            if (b == null) continue;
            if (pinned(id)) pinnedBytes.addAndGet(-b.bytes());
            b.evict();
            evictedHeld.remove(id, b);  // out of service: a prompt that still holds it finishes with it, nobody takes it back
            n++;
        }
        return n;
    }

    @Override
    public void close() {
        if (cache != null) {
            for (MemoryBlock b : cache.synchronous().asMap().values()) b.evict();
            cache.synchronous().invalidateAll();
        }
        manager.close();
    }
}
