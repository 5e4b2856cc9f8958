package dev.hmem.cli.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/** The machine's fp32 matrix-multiply ceiling as PyTorch reaches it: 1024² × 1024² GEMMs. */
public final class GemmRate {

    private GemmRate() {}

    /** Median GFLOP/s over {@code trials} trials of {@code reps} multiplies each. */
    public static double measure(int trials, int reps) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomNormal(0, 1, new Shape(1024, 1024), DataType.FLOAT32);
            NDArray b = m.randomNormal(0, 1, new Shape(1024, 1024), DataType.FLOAT32);
            for (int i = 0; i < 3; i++) a.matMul(b).close();
            double[] rates = new double[trials];
            for (int t = 0; t < trials; t++) {
                long start = System.nanoTime();
                for (int i = 0; i < reps; i++) a.matMul(b).close();
                double secs = (System.nanoTime() - start) / 1e9;
                rates[t] = 2.0 * 1024 * 1024 * 1024 * reps / secs / 1e9;
            }
            return median(rates);
        }
    }

    public static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
