package dev.hmem.operators.engine;

import dev.hmem.runtime.bank.MemoryBlock;
import java.util.List;

/**
 * A prompt in the generator: what its result needs, and its blocks (held by the generator while it runs).
 *
 * @param label    the memory its blocks make ("3.11", "none"): the routed path, or its healthy prefix
 * @param fallback why the blocks are less than the routed path, or null
 * @param hits     blocks that were already cached when it arrived
 */
record RunningPrompt(PendingPrompt pending, List<MemoryBlock> blocks, String label, String fallback, long admitNanos, int hits) {

    /** The generator's request for this prompt. */
    dev.hmem.runtime.generate.GenerationRequest request() {
        return pending.request(blocks, label);
    }

    String uid() {
        return pending.task.uid();
    }

    /** Lets go of one hold on each block. */
    static void release(List<MemoryBlock> blocks) {
        for (MemoryBlock b : blocks) b.release();
    }

    /** Takes one more hold on each block. */
    static void retain(List<MemoryBlock> blocks) {
        for (MemoryBlock b : blocks) b.retain();
    }
}
