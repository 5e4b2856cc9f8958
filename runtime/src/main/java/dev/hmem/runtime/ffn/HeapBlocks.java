package dev.hmem.runtime.ffn;

import ai.djl.pytorch.engine.PtNDArray;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.bank.MemoryBlock;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

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
 * dropped from here while a step still reads it stays alive for that step. The blocks of the current step stay even
 * past the budget, up to a JVM-wide cap ({@link #beginStep}). One thread at a time, as its decoder.
 */
public final class HeapBlocks implements AutoCloseable {

    /** Bytes of the copies every decoder of this JVM keeps: a step may keep more than its budget only under the cap. */
    private static final AtomicLong JVM_HELD = new AtomicLong();
    /** A quarter of the heap: copies beyond their budgets never crowd out the rest of a TaskManager's heap. */
    static volatile long jvmCap = Runtime.getRuntime().maxMemory() / 4;

    private static final class Copy {
        final float[] data;
        long step;

        Copy(float[] data, long step) {
            this.data = data;
            this.step = step;
        }
    }

    private final long budgetBytes;
    private final Map<FfnMemory, Copy> recent = new LinkedHashMap<>(16, 0.75f, true);
    private long heldBytes;
    private long step;
    private boolean stepped;

    public HeapBlocks(long budgetBytes) {
        if (budgetBytes < 0) throw new IllegalArgumentException("heap block budget must be >= 0, got " + budgetBytes);
        this.budgetBytes = budgetBytes;
    }

    /**
     * A decode step begins. The copies one step reads are kept even past the budget (while the JVM's copies stay under
     * a quarter of the heap): the step reads each of them once per layer and the next step reads them again, so a
     * batch whose distinct blocks outgrow the budget would otherwise copy them from native memory every step
     * (measured: 8 mixed paths of the paper's shape ran at 32% of one path's speed). Without steps this is a plain
     * least-recently-used set within the budget.
     */
    public void beginStep() {
        step++;
        stepped = true;
    }

    /** {@code m}'s (L, 3, r, d) floats on the heap: the kept copy, or a new one. */
    float[] of(FfnMemory m) {
        Copy kept = recent.get(m);
        if (kept != null) {
            kept.step = step;
            return kept.data;
        }
        float[] copy = copy(m);
        long bytes = 4L * copy.length;
        boolean fits = bytes <= budgetBytes || (stepped && JVM_HELD.get() + bytes <= jvmCap);
        if (m instanceof MemoryBlock && bytes > 0 && fits) {  // empty ones would pile up unweighed
            recent.put(m, new Copy(copy, step));
            heldBytes += bytes;
            JVM_HELD.addAndGet(bytes);
            trim();
        }
        return copy;
    }

    /** Drops the least recently used copies down to the budget, stopping at this step's while the JVM cap allows. */
    private void trim() {
        Iterator<Copy> oldest = recent.values().iterator();
        while (heldBytes > budgetBytes && oldest.hasNext()) {
            Copy c = oldest.next();
            if (stepped && c.step == step && JVM_HELD.get() <= jvmCap) break;  // the rest are this step's too
            heldBytes -= 4L * c.data.length;
            JVM_HELD.addAndGet(-4L * c.data.length);
            oldest.remove();
        }
    }

    /** Bytes of the copies kept. */
    long heldBytes() {
        return heldBytes;
    }

    /** Copies kept. */
    int kept() {
        return recent.size();
    }

    /** Bytes of the copies every open {@code HeapBlocks} of this JVM keeps. */
    static long jvmHeld() {
        return JVM_HELD.get();
    }

    /** Lets the copies go (the decoder is closed). */
    @Override
    public void close() {
        JVM_HELD.addAndGet(-heldBytes);
        heldBytes = 0;
        recent.clear();
    }

    private static float[] copy(FfnMemory m) {
        if (m.data() == null) throw new IllegalArgumentException("memory " + m + " is not held as one array");
        java.nio.FloatBuffer src = ((PtNDArray) m.data()).toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] out = new float[src.remaining()];
        src.get(out);
        return out;
    }
}
