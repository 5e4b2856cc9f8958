package dev.hmem.runtime.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A safetensors file opened for reading: the header is parsed and validated up front, tensor
 * bytes are memory-mapped on demand so only what is read is paged in.
 *
 * <p>Layout (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
 * N bytes of JSON header, then the data section that the header's {@code data_offsets} index.
 */
public final class SafeTensorsFile implements Closeable {

    /** Same cap as the reference implementation: a larger header is a corrupt or hostile file. */
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path path;
    private final FileChannel channel;  // null when reading from memory
    private final ByteBuffer contents;  // the whole file when reading from memory
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsFile(Path path, FileChannel channel, ByteBuffer contents, long dataStart,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.contents = contents;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) {
                throw new SafeTensorsException(path + ": too short to be a safetensors file (" + size + " bytes)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
                throw new SafeTensorsException(path + ": invalid header length " + headerLen
                        + " for a file of " + size + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            long dataStart = 8 + headerLen;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            parseHeader(path, json, size - dataStart, tensors, meta);
            return new SafeTensorsFile(path, ch, null, dataStart, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(meta));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Parses a whole safetensors file held in memory; {@code name} is used in error messages. */
    public static SafeTensorsFile fromBytes(Path name, ByteBuffer file) {
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long size = b.remaining();
        if (size < 8) {
            throw new SafeTensorsException(name + ": too short to be a safetensors file (" + size + " bytes)");
        }
        long headerLen = b.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
            throw new SafeTensorsException(name + ": invalid header length " + headerLen
                    + " for a file of " + size + " bytes");
        }
        byte[] header = new byte[(int) headerLen];
        b.position(8);
        b.get(header);
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        parseHeader(name, new String(header, StandardCharsets.UTF_8), size - 8 - headerLen, tensors, meta);
        return new SafeTensorsFile(name, null, file.duplicate(), 8 + headerLen,
                Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(meta));
    }

    /**
     * Parses just the header from the first bytes of a file ({@code prefix} must hold at least
     * 8 + header length bytes); {@code fileSize} bounds the data offsets.
     */
    public static Map<String, TensorInfo> parseHeader(Path name, ByteBuffer prefix, long fileSize,
                                                      Map<String, String> metadataOut) {
        ByteBuffer b = prefix.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = b.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > b.limit()) {
            throw new SafeTensorsException(name + ": invalid header length " + headerLen);
        }
        byte[] header = new byte[(int) headerLen];
        b.position(8);
        b.get(header);
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        parseHeader(name, new String(header, StandardCharsets.UTF_8), fileSize - 8 - headerLen, tensors,
                metadataOut);
        return tensors;
    }

    private static void parseHeader(Path path, String json, long dataBytes,
                                    Map<String, TensorInfo> tensors, Map<String, String> meta) {
        JsonObject root;
        try {
            root = JsonParser.parseString(json).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new SafeTensorsException(path + ": header is not a JSON object: " + e.getMessage());
        }
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    meta.put(m.getKey(), m.getValue().getAsString());
                }
                continue;
            }
            String name = e.getKey();
            try {
                JsonObject t = e.getValue().getAsJsonObject();
                DType dtype = DType.parse(t.get("dtype").getAsString());
                var shapeArr = t.getAsJsonArray("shape");
                long[] shape = new long[shapeArr.size()];
                for (int i = 0; i < shape.length; i++) shape[i] = shapeArr.get(i).getAsLong();
                var off = t.getAsJsonArray("data_offsets");
                long begin = off.get(0).getAsLong();
                long end = off.get(1).getAsLong();
                TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
                if (begin < 0 || end < begin || end > dataBytes) {
                    throw new SafeTensorsException("data_offsets [" + begin + ", " + end
                            + ") outside the data section of " + dataBytes + " bytes");
                }
                if (info.numel() * dtype.bytes() != end - begin) {
                    throw new SafeTensorsException("shape " + info.shapeString() + " of " + dtype
                            + " needs " + info.numel() * dtype.bytes() + " bytes but data_offsets span "
                            + (end - begin));
                }
                tensors.put(name, info);
            } catch (RuntimeException ex) {
                throw new SafeTensorsException(path + ": tensor '" + name + "': " + ex.getMessage());
            }
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    public Path path() {
        return path;
    }

    /** Absolute file offset of the data section (8 + header length). */
    public long dataStart() {
        return dataStart;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The header entry of {@code name}, or a clear error naming the file and the tensor. */
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new SafeTensorsException(path + ": missing tensor '" + name + "'");
        }
        return info;
    }

    /** The tensor's bytes, memory-mapped read-only (little-endian). */
    public ByteBuffer map(TensorInfo info) throws IOException {
        if (channel == null) {
            return contents.slice(Math.toIntExact(dataStart + info.begin()), Math.toIntExact(info.byteSize()))
                    .order(ByteOrder.LITTLE_ENDIAN);
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteSize())
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Decodes a floating point tensor of any supported type to f32. */
    public float[] readFloats(TensorInfo info) throws IOException {
        float[] out = new float[Math.toIntExact(info.numel())];
        info.dtype().decodeFloats(map(info), java.nio.FloatBuffer.wrap(out), out.length);
        return out;
    }

    public int[] readInts(TensorInfo info) throws IOException {
        if (info.dtype() != DType.I32) {
            throw new SafeTensorsException(path + ": tensor '" + info.name() + "' is " + info.dtype() + ", expected I32");
        }
        int[] out = new int[Math.toIntExact(info.numel())];
        map(info).asIntBuffer().get(out);
        return out;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) channel.close();
    }
}
