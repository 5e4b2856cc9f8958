package dev.hmem.operators.engine;

import ai.djl.ndarray.NDManager;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The subtask's hot set of memory blocks: a Caffeine cache weighted in bytes (W-TinyLFU, so a scan
 * of one-off paths does not flush the popular ones), loading on a small thread pool so a miss
 * never blocks generation. Blocks of levels up to {@code pinnedLevels} and the generic memory
 * weigh nothing and are never evicted: they are few, large and shared by many paths. An evicted
 * block's native memory is freed as soon as no running sequence uses it ({@link MemoryBlock}).
 * With a zero budget and nothing pinned the cache is bypassed: every request loads its blocks.
 */
public final class BlockCache implements AutoCloseable {

    private final MemoryBank bank;
    private final NDManager manager;
    private final Executor loader;
    private final EngineMetrics metrics;
    private final int pinnedLevels;
    private final AsyncLoadingCache<BlockId, MemoryBlock> cache;  // null = no cache
    private final AtomicLong pinnedBytes = new AtomicLong();

    public BlockCache(MemoryBank bank, long budgetBytes, int pinnedLevels, Executor loader, EngineMetrics metrics) {
        this.bank = bank;
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
        long t0 = System.nanoTime();
        try {
            MemoryBlock b = bank.load(id, manager);
            metrics.blockLoaded(id.level(), (System.nanoTime() - t0) / 1e6);
            if (pinned(id)) pinnedBytes.addAndGet(b.bytes());
            return b;
        } catch (java.io.IOException e) {
            throw new CompletionException(e);
        }
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

    @Override
    public void close() {
        if (cache != null) {
            for (MemoryBlock b : cache.synchronous().asMap().values()) b.evict();
            cache.synchronous().invalidateAll();
        }
        manager.close();
    }
}
