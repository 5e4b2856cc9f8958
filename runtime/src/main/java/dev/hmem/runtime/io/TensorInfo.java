package dev.hmem.runtime.io;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header: name, element type, shape and its byte range
 * relative to the start of the data section.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public long numel() {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    public long byteSize() {
        return end - begin;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }
}
