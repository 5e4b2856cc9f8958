package dev.hmem.cli.bench.jmh;

import dev.hmem.runtime.tensor.HeapMatrix;
import dev.hmem.runtime.tensor.WeightFormat;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The Java decode path's one kernel that carries its time: a batch of rows times an anchor matrix on the heap
 * ({@link HeapMatrix}, the Vector API), in f32 or bf16, on one thread. Each call multiplies {@link #MATRICES} matrices of
 * the bench shape's fused gate/up (3,072 × 512), 96 MiB in f32, so the weights stream from memory as in a decode step
 * rather than from a cache. Weights read per call: {@link #bytes(String)}.
 */
@State(Scope.Thread)
public class MatmulKernelBenchmark {

    public static final int MATRICES = 16, OUT = 3072, IN = 512;

    @Param({"f32", "bf16"})
    public String format;

    @Param({"1", "8"})
    public int rows;

    private HeapMatrix[] w;
    private float[] x, y;

    public static double bytes(String format) {
        return (double) MATRICES * OUT * IN * (WeightFormat.parse(format) == WeightFormat.BF16 ? 2 : 4);
    }

    @Setup(Level.Trial)
    public void setUp() {
        Random r = new Random(1);
        w = new HeapMatrix[MATRICES];
        for (int m = 0; m < MATRICES; m++) {
            float[] v = new float[OUT * IN];
            for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * 0.02f;
            w[m] = HeapMatrix.of(v, OUT, IN, WeightFormat.parse(format));
        }
        x = new float[rows * IN];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        y = new float[rows * OUT];
    }

    @Benchmark
    public float pass() {
        for (HeapMatrix m : w) m.matmul(x, 0, rows, y, 0, OUT, 0, OUT, false);
        return y[rows * OUT - 1];  // consumed, so the products are not optimised away
    }
}
