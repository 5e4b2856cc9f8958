package dev.hmem.runtime.ffn;

import ai.djl.pytorch.engine.PtNDArray;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.bank.MemoryBlock;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Heap copies of the memory blocks a {@link dev.hmem.runtime.anchor.JavaDecoder} reads, kept while they are among the most
 * recently used up to a byte budget. On Java 17 a SIMD kernel reads a float array about twice as
 * fast as the same floats through a direct buffer (measured: a path's gate/up projections at batch
 * 8, 0.30 ms from arrays against 0.60 ms from the tensor's native memory), so a block is copied
 * once — about a millisecond for a 7.6 MB path, against the dozens of steps a sequence decodes with
 * it — and read from the heap afterwards. The PyTorch path (prefill, large batches) keeps reading
 * the tensor; the copy costs heap, bounded here.
 *
 * <p>Only loaded bank blocks ({@link MemoryBlock}, immutable, compared by identity) are kept: a
 * block loaded again after an eviction is a new object and copied again, and the old copy ages
 * out. Other memories (a block being trained) are copied for the step that reads them. A copy
 * dropped from here while a step still reads it stays alive for that step. One thread at a time,
 * as its decoder.
 */
public final class HeapBlocks {

    private final long budgetBytes;
    private final Map<FfnMemory, float[]> recent = new LinkedHashMap<>(16, 0.75f, true);
    private long heldBytes;

    public HeapBlocks(long budgetBytes) {
        if (budgetBytes < 0) throw new IllegalArgumentException("heap block budget must be >= 0, got " + budgetBytes);
        this.budgetBytes = budgetBytes;
    }

    /** {@code m}'s (L, 3, r, d) floats on the heap: the kept copy, or a new one. */
    float[] of(FfnMemory m) {
        float[] kept = recent.get(m);
        if (kept != null) return kept;
        float[] copy = copy(m);
        long bytes = 4L * copy.length;
        if (m instanceof MemoryBlock && bytes > 0 && bytes <= budgetBytes) {  // empty ones would pile up unweighed
            recent.put(m, copy);
            heldBytes += bytes;
            Iterator<float[]> oldest = recent.values().iterator();
            while (heldBytes > budgetBytes) {
                heldBytes -= 4L * oldest.next().length;
                oldest.remove();
            }
        }
        return copy;
    }

    /** Bytes of the copies kept. */
    long heldBytes() {
        return heldBytes;
    }

    /** Copies kept. */
    int kept() {
        return recent.size();
    }

    private static float[] copy(FfnMemory m) {
        if (m.data() == null) throw new IllegalArgumentException("memory " + m + " is not held as one array");
        java.nio.FloatBuffer src = ((PtNDArray) m.data()).toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] out = new float[src.remaining()];
        src.get(out);
        return out;
    }
}
