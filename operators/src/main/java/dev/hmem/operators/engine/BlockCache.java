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
        if (budgetBytes == 0 && pinnedLevels == 0) {
            cache = null;
            return;
        }
        cache = Caffeine.newBuilder()
                .executor(loader)
                .maximumWeight(budgetBytes)
                .weigher((BlockId id, MemoryBlock b) -> pinned(id) ? 0 : (int) Math.min(Integer.MAX_VALUE, b.bytes()))
                .evictionListener((BlockId id, MemoryBlock b, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
                    if (b != null) {
                        metrics.cacheEviction(id.level());
                        b.evict();
                    }
                })
                .buildAsync((id, executor) -> CompletableFuture.supplyAsync(() -> load(id), executor));
    }

    public boolean pinned(BlockId id) {
        return id.isGeneric() || id.level() <= pinnedLevels;
    }

    private MemoryBlock load(BlockId id) {
        Quarantine q = quarantined.get(id);
        if (q != null && System.nanoTime() < q.untilNanos()) throw new CompletionException(new QuarantinedBlockException(id, q.reason()));
        long t0 = System.nanoTime();
        try {
            MemoryBlock b = bank.load(id, manager);
            metrics.blockLoaded(id.level(), (System.nanoTime() - t0) / 1e6);
            if (pinned(id)) pinnedBytes.addAndGet(b.bytes());
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
        List<CompletableFuture<MemoryBlock>> parts = new ArrayList<>(ids.size());
        for (BlockId id : ids) parts.add(acquire(id));
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0])).handle((v, err) -> {
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
            return new PathBlocks(prefix, failed, reason);
        });
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
            try {
                return b.retain();
            } catch (IllegalStateException evictedMeanwhile) {
                // Evicted and freed between load and use (the cache chose other blocks): read our own copy.
                return direct(id);
            }
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
        CompletableFuture<MemoryBlock> f = cache.getIfPresent(id);
        return f != null && f.isDone() && !f.isCompletedExceptionally();
    }

    /** Bytes of evictable cached blocks (what the budget bounds). */
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
