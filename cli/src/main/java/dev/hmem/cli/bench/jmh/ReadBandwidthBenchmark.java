package dev.hmem.cli.bench.jmh;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The machine's memory read bandwidth as a decode step meets it, STREAM-like: each thread sums a float array of its
 * own, far larger than the caches, with SIMD and four accumulators so the loop waits on memory, not on the adds.
 * Bytes per call: {@link #BYTES}, per thread.
 */
@State(Scope.Thread)
public class ReadBandwidthBenchmark {

    /** 128 MiB per thread: several times any last-level cache of this machine type. */
    public static final int FLOATS = 32 << 20;
    public static final double BYTES = 4.0 * FLOATS;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private float[] data;

    @Setup(Level.Trial)
    public void setUp() {
        data = new float[FLOATS];
        for (int i = 0; i < FLOATS; i++) data[i] = (i & 1023) * 1e-3f;  // touched, so every page is really there
    }

    @Benchmark
    public float sum() {
        int step = S.length(), i = 0, end = FLOATS - FLOATS % (4 * step);
        FloatVector a = FloatVector.zero(S), b = FloatVector.zero(S), c = FloatVector.zero(S), d = FloatVector.zero(S);
        for (; i < end; i += 4 * step) {
            a = a.add(FloatVector.fromArray(S, data, i));
            b = b.add(FloatVector.fromArray(S, data, i + step));
            c = c.add(FloatVector.fromArray(S, data, i + 2 * step));
            d = d.add(FloatVector.fromArray(S, data, i + 3 * step));
        }
        float s = a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
        for (; i < FLOATS; i++) s += data[i];
        return s;
    }
}
