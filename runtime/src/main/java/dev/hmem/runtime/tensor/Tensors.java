package dev.hmem.runtime.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.io.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Moves tensor bytes between files and DJL arrays. */
public final class Tensors {

    private Tensors() {}

    public static DataType djlType(DType t) {
        switch (t) {
            case F32: return DataType.FLOAT32;
            case BF16: return DataType.BFLOAT16;
            case F16: return DataType.FLOAT16;
            case I32: return DataType.INT32;
            case I64: return DataType.INT64;
            default: throw new IllegalArgumentException(t.toString());
        }
    }

    /**
     * An f32 array owning its memory, built from little-endian bytes of type {@code dtype}. The
     * source buffer may be memory-mapped: PyTorch wraps it without copying, so the array is cloned
     * (or widened, which copies) before the wrapper is dropped.
     */
    public static NDArray toF32(NDManager manager, ByteBuffer bytes, DType dtype, long... shape) {
        if (dtype == DType.BF16) {
            // DJL 0.36 aborts the JVM creating a bfloat16 tensor from a buffer; widen in Java instead
            // (bf16 is the top half of an f32, so this is a shift).
            long n = new Shape(shape).size();
            ByteBuffer f32 = ByteBuffer.allocateDirect(Math.toIntExact(n * 4)).order(ByteOrder.nativeOrder());
            dtype.decodeFloats(bytes.duplicate(), f32.asFloatBuffer(), n);
            NDArray wrapped = manager.create(f32, new Shape(shape), DataType.FLOAT32);
            try {
                return wrapped.duplicate();
            } finally {
                wrapped.close();
            }
        }
        NDArray view = manager.create(bytes, new Shape(shape), djlType(dtype));
        try {
            return dtype == DType.F32 ? view.duplicate() : view.toType(DataType.FLOAT32, true);
        } finally {
            view.close();
        }
    }
}
