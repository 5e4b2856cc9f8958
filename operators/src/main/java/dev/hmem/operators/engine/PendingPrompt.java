package dev.hmem.operators.engine;

import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.SamplingParams;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A prompt waiting for a slot in the batch, its memory blocks loading since it arrived (prefetch) — or, when the blocks
 * prompts hold already fill the cache budget, since room was made ({@link #deferred()} until then).
 */
final class PendingPrompt {

    final PromptTask task;
    final long arrivalNanos = System.nanoTime();
    /** The blocks of its path, top-down (empty for the anchor alone). */
    final List<dev.hmem.runtime.bank.BlockId> ids;
    /** Its blocks being fetched, or null while its prefetch waits for room in the budget. */
    CompletableFuture<BlockCache.PathBlocks> blocks;
    /** Blocks that were not in the cache when its prefetch started. */
    int misses;
    /** When its blocks were first seen loaded; 0 until then. */
    long readyNanos;

    PendingPrompt(PromptTask task, List<dev.hmem.runtime.bank.BlockId> ids, CompletableFuture<BlockCache.PathBlocks> blocks, int misses) {
        this.task = task;
        this.ids = ids;
        this.blocks = blocks;
        this.misses = misses;
    }

    boolean deferred() {
        return blocks == null;
    }

    /** Its blocks are fetched (or failed). */
    boolean ready() {
        return blocks != null && blocks.isDone();
    }

    /** The generator's request for this prompt with its loaded {@code memory}, labelled with the path it makes. */
    GenerationRequest request(List<MemoryBlock> memory, String label) {
        PromptTask t = task;
        SamplingParams params = new SamplingParams(t.maxNewTokens(), t.temperature(), t.topK(), t.topP(), t.seed(),
                List.of(t.stop()), t.ignoreEos());
        return new GenerationRequest(t.uid(), t.tokens(), params, memory, label);
    }
}
