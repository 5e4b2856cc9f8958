package dev.hmem.runtime.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The tensors of a Hugging Face checkpoint directory, whether in a single {@code model.safetensors}
 * or sharded with a {@code model.safetensors.index.json}. Tensors that carry an hmem checksum in
 * their file's metadata ({@code crc32c.<name>}) are verified when read.
 */
public final class Checkpoint implements Closeable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    /** Metadata key prefix under which hmem records each tensor's CRC32C. */
    public static final String CRC_PREFIX = "crc32c.";

    private final Path dir;
    private final Map<String, SafeTensorsFile> fileOf = new TreeMap<>();
    private final Map<Path, SafeTensorsFile> files = new LinkedHashMap<>();

    private Checkpoint(Path dir) {
        this.dir = dir;
    }

    public static Checkpoint open(Path dir) throws IOException {
        Checkpoint c = new Checkpoint(dir);
        try {
            Path single = dir.resolve(SINGLE_FILE);
            Path index = dir.resolve(INDEX_FILE);
            if (Files.exists(index)) {
                JsonObject root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
                JsonObject map = root.getAsJsonObject("weight_map");
                if (map == null) {
                    throw new SafeTensorsException(index + ": no weight_map");
                }
                for (Map.Entry<String, JsonElement> e : map.entrySet()) {
                    Path shard = dir.resolve(e.getValue().getAsString());
                    SafeTensorsFile f = c.files.get(shard);
                    if (f == null) {
                        if (!Files.exists(shard)) {
                            throw new SafeTensorsException(index + " names shard " + shard.getFileName()
                                    + " which does not exist");
                        }
                        f = SafeTensorsFile.open(shard);
                        c.files.put(shard, f);
                    }
                    if (!f.contains(e.getKey())) {
                        throw new SafeTensorsException(index + " maps '" + e.getKey() + "' to "
                                + shard.getFileName() + " which does not hold it");
                    }
                    c.fileOf.put(e.getKey(), f);
                }
            } else if (Files.exists(single)) {
                SafeTensorsFile f = SafeTensorsFile.open(single);
                c.files.put(single, f);
                for (String name : f.tensors().keySet()) c.fileOf.put(name, f);
            } else {
                throw new SafeTensorsException(dir + " has neither " + SINGLE_FILE + " nor " + INDEX_FILE);
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public java.util.Set<String> names() {
        return fileOf.keySet();
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    public TensorInfo info(String name) {
        SafeTensorsFile f = fileOf.get(name);
        if (f == null) {
            throw new SafeTensorsException(dir + ": missing tensor '" + name + "'");
        }
        return f.info(name);
    }

    /**
     * The tensor's bytes (memory-mapped), after checking its CRC32C where the file records one.
     * Returns the CRC32C computed over the bytes as the second element of the result.
     */
    public Read read(String name) throws IOException {
        SafeTensorsFile f = fileOf.get(name);
        TensorInfo info = info(name);
        ByteBuffer bytes = f.map(info);
        CRC32C crc = new CRC32C();
        crc.update(bytes.duplicate());
        long actual = crc.getValue();
        String expected = f.metadata().get(CRC_PREFIX + name);
        if (expected != null && Long.parseLong(expected, 16) != actual) {
            throw new SafeTensorsException(f.path() + ": tensor '" + name + "' is corrupt: CRC32C "
                    + String.format("%08x", actual) + " but the file records " + expected);
        }
        return new Read(info, bytes, actual);
    }

    /** Bytes of one tensor and the checksum computed over them. */
    public record Read(TensorInfo info, ByteBuffer bytes, long crc32c) {}

    @Override
    public void close() throws IOException {
        for (SafeTensorsFile f : files.values()) f.close();
    }
}
