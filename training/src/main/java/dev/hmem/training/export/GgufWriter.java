package dev.hmem.training.export;

import dev.hmem.runtime.io.DType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (version 3, ggml's documented model format, docs/gguf.md in ggml): magic, version,
 * tensor and key-value counts, typed key-value metadata, tensor descriptors, then each tensor's
 * data at an offset aligned to {@code general.alignment}. Everything little-endian; strings are a
 * u64 length and UTF-8 bytes. Dimensions are written innermost first (ggml's {@code ne[0]} is the
 * row length), so a row-major (rows, cols) array is described as [cols, rows] with the same bytes.
 *
 * <p>The file is written to a sibling temporary and moved into place, so a crash never leaves a
 * half-written model under the final name for a tool to load.
 */
public final class GgufWriter {

    static final int MAGIC = 0x46554747;  // "GGUF" read as a little-endian u32
    static final int VERSION = 3;
    static final int ALIGNMENT = 32;

    /** Tensor element types this writer produces (ggml's type ids). */
    public enum TensorType {
        F32(0, DType.F32), F16(1, DType.F16);

        final int id;
        final DType dtype;

        TensorType(int id, DType dtype) {
            this.id = id;
            this.dtype = dtype;
        }
    }

    /** Metadata value types (gguf_type). */
    private static final int U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9;

    private interface Value {
        void write(Out out) throws IOException;
    }

    private record Tensor(String name, long[] shape, TensorType type, float[] data) {
        long bytes() {
            return (long) data.length * type.dtype.bytes();
        }
    }

    private final Map<String, Value> kv = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    public GgufWriter() {
        putU32("general.alignment", ALIGNMENT);
    }

    public GgufWriter putString(String key, String value) {
        kv.put(key, o -> { o.u32(STRING); o.string(value); });
        return this;
    }

    public GgufWriter putU32(String key, long value) {
        if (value < 0 || value > 0xffffffffL) throw new IllegalArgumentException(key + " = " + value + " does not fit a u32");
        kv.put(key, o -> { o.u32(U32); o.u32(value); });
        return this;
    }

    public GgufWriter putF32(String key, double value) {
        kv.put(key, o -> { o.u32(F32); o.f32((float) value); });
        return this;
    }

    public GgufWriter putBool(String key, boolean value) {
        kv.put(key, o -> { o.u32(BOOL); o.u8(value ? 1 : 0); });
        return this;
    }

    public GgufWriter putStrings(String key, List<String> values) {
        kv.put(key, o -> {
            o.u32(ARRAY); o.u32(STRING); o.u64(values.size());
            for (String s : values) o.string(s);
        });
        return this;
    }

    public GgufWriter putI32s(String key, int[] values) {
        kv.put(key, o -> {
            o.u32(ARRAY); o.u32(I32); o.u64(values.length);
            for (int v : values) o.u32(v);
        });
        return this;
    }

    /** A tensor of row-major {@code shape} (outermost first, as PyTorch and safetensors give it). */
    public GgufWriter tensor(String name, long[] shape, TensorType type, float[] data) {
        long n = 1;
        for (long s : shape) n *= s;
        if (n != data.length) throw new IllegalArgumentException(name + ": shape holds " + n + " elements, data " + data.length);
        if (tensors.stream().anyMatch(t -> t.name.equals(name))) throw new IllegalArgumentException("tensor " + name + " written twice");
        tensors.add(new Tensor(name, shape.clone(), type, data));
        return this;
    }

    public void write(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".partial");
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            Out o = new Out(os);
            o.u32(MAGIC);
            o.u32(VERSION);
            o.u64(tensors.size());
            o.u64(kv.size());
            for (Map.Entry<String, Value> e : kv.entrySet()) {
                o.string(e.getKey());
                e.getValue().write(o);
            }
            long offset = 0;
            for (Tensor t : tensors) {
                o.string(t.name);
                o.u32(t.shape.length);
                for (int i = t.shape.length - 1; i >= 0; i--) o.u64(t.shape[i]);
                o.u32(t.type.id);
                o.u64(offset);
                offset = align(offset + t.bytes());
            }
            o.pad();
            for (Tensor t : tensors) {
                ByteBuffer buf = ByteBuffer.allocate((int) t.bytes()).order(ByteOrder.LITTLE_ENDIAN);
                t.type.dtype.encodeFloats(FloatBuffer.wrap(t.data), buf);
                o.bytes(buf.array());
                o.pad();
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** Little-endian primitives over a stream, counting the bytes written (for padding). */
    private static final class Out {
        private final OutputStream os;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Out(OutputStream os) {
            this.os = os;
        }

        void u8(int v) throws IOException {
            os.write(v);
            written++;
        }

        void u32(long v) throws IOException {
            scratch.clear();
            scratch.putInt((int) v);
            bytes(scratch.array(), 4);
        }

        void u64(long v) throws IOException {
            scratch.clear();
            scratch.putLong(v);
            bytes(scratch.array(), 8);
        }

        void f32(float v) throws IOException {
            u32(Float.floatToRawIntBits(v));
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException {
            bytes(b, b.length);
        }

        void bytes(byte[] b, int n) throws IOException {
            os.write(b, 0, n);
            written += n;
        }

        void pad() throws IOException {
            while (written % ALIGNMENT != 0) u8(0);
        }
    }
}
