package dev.hmem.runtime.io;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Streams a safetensors file: the header (entries in the given order, data contiguous in that
 * order) is written first, then the caller appends each tensor's bytes in turn. Files are written
 * to a temporary name and moved into place on {@link #close()}, so a crash never leaves a
 * truncated file under the real name.
 */
public final class SafeTensorsWriter implements Closeable {

    /** One tensor to be written: its name, element type and shape. */
    public record Entry(String name, DType dtype, long[] shape) {
        public long byteSize() {
            long n = dtype.bytes();
            for (long s : shape) n *= s;
            return n;
        }
    }

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    private final Path target;
    private final Path tmp;
    private final FileChannel channel;
    private final long expectedData;
    private final long dataStart;
    private long written;
    private boolean failed;

    private SafeTensorsWriter(Path target, Path tmp, FileChannel channel, long dataStart, long expectedData) {
        this.target = target;
        this.tmp = tmp;
        this.channel = channel;
        this.dataStart = dataStart;
        this.expectedData = expectedData;
    }

    public static SafeTensorsWriter create(Path target, Map<String, String> metadata, List<Entry> entries)
            throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            header.put("__metadata__", metadata);
        }
        long offset = 0;
        for (Entry e : entries) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("dtype", e.dtype().name());
            t.put("shape", e.shape());
            t.put("data_offsets", new long[] {offset, offset + e.byteSize()});
            if (header.put(e.name(), t) != null) {
                throw new IllegalArgumentException("duplicate tensor name '" + e.name() + "'");
            }
            offset += e.byteSize();
        }
        byte[] json = GSON.toJson(header).getBytes(StandardCharsets.UTF_8);
        // Pad with spaces so the data section starts 8-byte aligned (allowed by the format).
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve(target.getFileName() + ".tmp");
        FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        while (head.hasRemaining()) ch.write(head);
        return new SafeTensorsWriter(target, tmp, ch, 8 + padded, offset);
    }

    /** Absolute offset in the final file where the data section starts. */
    public long dataStart() {
        return dataStart;
    }

    public void write(ByteBuffer bytes) throws IOException {
        written += bytes.remaining();
        if (written > expectedData) {
            failed = true;
            throw new IllegalStateException("more bytes written than the header declares");
        }
        while (bytes.hasRemaining()) channel.write(bytes);
    }

    /** Writes floats encoded as {@code dtype}. */
    public void writeFloats(float[] values, DType dtype) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        dtype.encodeFloats(FloatBuffer.wrap(values), buf);
        buf.flip();
        write(buf);
    }

    public void writeInts(int[] values) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asIntBuffer().put(values);
        write(buf);
    }

    /** Abandons the file: the temporary file is removed and nothing appears under the target name. */
    public void abort() throws IOException {
        failed = true;
        close();
    }

    @Override
    public void close() throws IOException {
        channel.close();
        if (failed || written != expectedData) {
            Files.deleteIfExists(tmp);
            if (!failed) {
                throw new IllegalStateException("safetensors file " + target + " incomplete: "
                        + written + " of " + expectedData + " data bytes written");
            }
            return;
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Convenience for small files: writes all tensors from float arrays. */
    public static void writeAll(Path target, Map<String, String> metadata, List<Entry> entries,
                                List<float[]> data) throws IOException {
        try (SafeTensorsWriter w = create(target, metadata, entries)) {
            for (int i = 0; i < entries.size(); i++) {
                w.writeFloats(data.get(i), entries.get(i).dtype());
            }
        }
    }
}
