package dev.hmem.runtime.bank;

import dev.hmem.runtime.Progress;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Writes a memory bank in the documented layout (docs/FORMAT.md): one safetensors file per level
 * whose tensors are the level's blocks in node order, the tree, and the manifest last, so a bank
 * without a manifest is visibly incomplete.
 */
public final class BankWriter {

    /** Supplies block contents: (L, 3, r, d) floats of node {@code nodeIndex}, row-major. */
    @FunctionalInterface
    public interface Blocks {
        float[] block(long nodeIndex) throws IOException;
    }

    private final Path dir;
    private final BankManifest.Anchor anchor;
    private final ClusterTree tree;
    private final String description;
    private final List<BankManifest.Level> levels = new ArrayList<>();
    private BankManifest.Level generic;

    public BankWriter(Path dir, BankManifest.Anchor anchor, ClusterTree tree, String description) throws IOException {
        this.dir = dir;
        this.anchor = anchor;
        this.tree = tree;
        this.description = description;
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(BankManifest.FILE));
    }

    public static String levelFile(int level) {
        return "level-" + level + ".safetensors";
    }

    /** The record of a level file written completely, kept beside it until the manifest is written (resuming). */
    private Path doneFile(String file) {
        return dir.resolve(file + ".done.json");
    }

    /**
     * Takes over level {@code level} from an earlier, interrupted run of the same bank if that run finished writing it
     * (its completion record is there, for the same neurons and dtype, and the file has the recorded length); returns
     * whether it did. A level whose write was cut off has no record and is written again.
     */
    public boolean resumeLevel(int level, int neurons, DType dtype) throws IOException {
        Path done = doneFile(levelFile(level));
        if (!Files.exists(done)) return false;
        BankManifest.Level l = DONE.fromJson(Files.readString(done), BankManifest.Level.class);
        Path f = dir.resolve(levelFile(level));
        long expected = l.dataOffset() + l.nodes() * l.blockBytes();
        boolean same = l.level() == level && l.neurons() == neurons && DType.parse(l.dtype()) == dtype
                && l.nodes() == ClusterTree.nodes(tree.branching(), level) && l.blockShape()[0] == anchor.numHiddenLayers()
                && l.blockShape()[3] == anchor.hiddenSize() && Files.exists(f) && Files.size(f) == expected;
        if (!same) return false;
        levels.add(l);
        return true;
    }

    private static final com.google.gson.Gson DONE = new com.google.gson.Gson();

    /** Writes all k^level blocks of {@code level}, each with {@code neurons} neurons per layer. */
    public void writeLevel(int level, int neurons, DType dtype, Blocks blocks, Progress progress) throws IOException {
        if (level < 1 || level > tree.depth()) {
            throw new IllegalArgumentException("level " + level + " outside the tree's levels 1.." + tree.depth());
        }
        long nodes = ClusterTree.nodes(tree.branching(), level);
        List<String> names = new ArrayList<>();
        for (long i = 0; i < nodes; i++) names.add(MemoryPath.fromNodeIndex(i, level, tree.branching()).toString());
        levels.add(write(level, neurons, dtype, levelFile(level), names, blocks, progress));
    }

    /** Writes the generic memory: one block used when no fetched memory is (or should be) used. */
    public void writeGeneric(int neurons, DType dtype, float[] block) throws IOException {
        generic = write(0, neurons, dtype, "generic.safetensors", List.of("generic"), i -> block, Progress.silent(1));
    }

    private BankManifest.Level write(int level, int neurons, DType dtype, String file, List<String> names,
                                     Blocks blocks, Progress progress) throws IOException {
        if (neurons < 1) throw new IllegalArgumentException("level " + level + " needs >= 1 neuron, got " + neurons);
        if (!dtype.isFloat()) throw new IllegalArgumentException("block dtype must be F32, BF16 or F16");
        long[] shape = {anchor.numHiddenLayers(), 3, neurons, anchor.hiddenSize()};
        long numel = (long) anchor.numHiddenLayers() * 3 * neurons * anchor.hiddenSize();
        long blockBytes = numel * dtype.bytes();
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        for (String n : names) entries.add(new SafeTensorsWriter.Entry(n, dtype, shape));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "hmem-bank-level");
        meta.put("level", Integer.toString(level));
        meta.put("neurons", Integer.toString(neurons));
        List<String> crcs = new ArrayList<>(names.size());
        long dataOffset;
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(blockBytes)).order(ByteOrder.LITTLE_ENDIAN);
        try (SafeTensorsWriter w = SafeTensorsWriter.create(dir.resolve(file), meta, entries)) {
            dataOffset = w.dataStart();
            for (long i = 0; i < names.size(); i++) {
                float[] v = blocks.block(i);
                if (v.length != numel) {
                    w.abort();
                    throw new IllegalArgumentException("block " + names.get((int) i) + " has " + v.length
                            + " values, expected " + numel);
                }
                buf.clear();
                dtype.encodeFloats(FloatBuffer.wrap(v), buf);
                buf.flip();
                CRC32C crc = new CRC32C();
                crc.update(buf.duplicate());
                crcs.add(String.format("%08x", crc.getValue()));
                w.write(buf);
                progress.advance(1);
            }
        }
        BankManifest.Level written = new BankManifest.Level(level, neurons, dtype.name(), file, names.size(), shape, blockBytes, dataOffset, crcs);
        Files.writeString(doneFile(file), DONE.toJson(written));
        return written;
    }

    /** Writes the tree and then the manifest, which completes the bank. */
    public BankManifest finish() throws IOException {
        tree.write(dir.resolve(ClusterTree.FILE));
        BankManifest m = new BankManifest(BankManifest.FORMAT, BankManifest.VERSION, anchor,
                new BankManifest.Tree(ClusterTree.FILE, tree.branching(), tree.depth(), tree.embeddingModel(), tree.dim()),
                List.copyOf(levels), generic, description);
        Path tmp = dir.resolve(BankManifest.FILE + ".tmp");
        Files.writeString(tmp, m.toJson() + "\n");
        Files.move(tmp, dir.resolve(BankManifest.FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        for (BankManifest.Level l : levels) Files.deleteIfExists(doneFile(l.file()));  // the manifest records them now
        if (generic != null) Files.deleteIfExists(doneFile(generic.file()));
        return m;
    }
}
