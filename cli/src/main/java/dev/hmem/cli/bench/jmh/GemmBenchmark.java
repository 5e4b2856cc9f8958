package dev.hmem.cli.bench.jmh;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/** The machine's fp32 matrix-multiply ceiling as PyTorch reaches it: one 1024 × 1024 by 1024 × 1024 GEMM per call. */
@State(Scope.Benchmark)
public class GemmBenchmark {

    /** Floating-point operations of one call. */
    public static final double FLOPS = 2.0 * 1024 * 1024 * 1024;

    private NDManager manager;
    private NDArray a, b;

    @Setup(Level.Trial)
    public void setUp() {
        manager = NDManager.newBaseManager();
        a = manager.randomNormal(0, 1, new Shape(1024, 1024), DataType.FLOAT32);
        b = manager.randomNormal(0, 1, new Shape(1024, 1024), DataType.FLOAT32);
    }

    @Benchmark
    public void matmul() {
        a.matMul(b).close();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }
}
