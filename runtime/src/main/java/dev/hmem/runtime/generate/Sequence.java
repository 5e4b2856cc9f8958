package dev.hmem.runtime.generate;

import dev.hmem.runtime.bank.MemoryBlock;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** A sequence's generation state inside the {@link BatchGenerator}: tokens so far and timings. */
final class Sequence {

    final GenerationRequest request;
    final int maxNew;
    final SplittableRandom random;
    final long submitNanos;
    long admitNanos;
    long firstTokenNanos;
    /** Tokens whose keys and values are in the cache. */
    int length;
    /** Sampled, not yet fed to the model. */
    int nextToken;
    int[] generated = new int[16];
    int generatedCount;
    /** The memory the forward pass uses for this row (its blocks, assembled); null = none or slab. */
    dev.hmem.runtime.bank.FfnMemory rowMemory;
    /** The row's path when its blocks live in the generator's level slabs. */
    List<MemoryBlock> slabPath;
    FinishReason finish;
    String stoppedText;

    Sequence(GenerationRequest request, int maxNew, long seed, long submitNanos) {
        this.request = request;
        this.maxNew = maxNew;
        this.random = new SplittableRandom(seed);
        this.submitNanos = submitNanos;
    }

    int[] generatedTokens() {
        return Arrays.copyOf(generated, generatedCount);
    }

    void append(int token) {
        if (generatedCount == generated.length) generated = Arrays.copyOf(generated, generated.length * 2);
        generated[generatedCount++] = token;
    }

    List<dev.hmem.runtime.bank.FfnMemory> memoryList() {
        return rowMemory == null ? List.of() : List.of(rowMemory);
    }

    void releaseMemory() {
        for (MemoryBlock b : request.memory()) b.release();
    }
}
