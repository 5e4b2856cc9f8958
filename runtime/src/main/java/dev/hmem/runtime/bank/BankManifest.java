package dev.hmem.runtime.bank;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * {@code manifest.json} of a memory bank (docs/FORMAT.md): which anchor it belongs to, the tree,
 * and per level the file, shapes, byte layout and one CRC32C per block.
 */
public record BankManifest(String format, int formatVersion, Anchor anchor, Tree tree, List<Level> levels,
                           Level generic, String description) {

    public static final String FORMAT = "hmem-memory-bank";
    public static final int VERSION = 1;
    public static final String FILE = "manifest.json";

    /** The anchor the bank was trained with. */
    public record Anchor(String fingerprint, int hiddenSize, int numHiddenLayers) {}

    /** The cluster tree: branching k, depth p, embedding model and dimension. */
    public record Tree(String file, int branching, int depth, String embeddingModel, int embeddingDim) {}

    /**
     * The blocks of one level (level 0 = the generic memory, a single block).
     *
     * @param nodes      blocks in the file, one per node of the level in row-major path order
     * @param blockShape (L, 3, r, d)
     * @param dataOffset absolute offset of block 0; block i starts at dataOffset + i * blockBytes
     * @param crc32c     per block, 8 lowercase hex digits
     */
    public record Level(int level, int neurons, String dtype, String file, long nodes, long[] blockShape,
                        long blockBytes, long dataOffset, List<String> crc32c) {

        public long offsetOf(long nodeIndex) {
            return dataOffset + nodeIndex * blockBytes;
        }
    }

    private static final Gson GSON = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();

    public String toJson() {
        return GSON.toJson(this);
    }

    public static BankManifest parse(byte[] json, String where) {
        BankManifest m;
        try {
            m = GSON.fromJson(new String(json, StandardCharsets.UTF_8), BankManifest.class);
        } catch (JsonParseException e) {
            throw new BankException(where + ": manifest is not valid JSON: " + e.getMessage());
        }
        if (m == null || !FORMAT.equals(m.format())) {
            throw new BankException(where + ": not an hmem memory bank manifest (format field is "
                    + (m == null ? "missing" : m.format()) + ")");
        }
        if (m.formatVersion() != VERSION) {
            throw new BankException(where + ": bank format version " + m.formatVersion()
                    + " is not supported (this hmem reads version " + VERSION + ")");
        }
        if (m.anchor() == null || m.tree() == null || m.levels() == null) {
            throw new BankException(where + ": manifest lacks anchor, tree or levels");
        }
        for (Level l : m.levels()) {
            if (l.crc32c() == null || l.crc32c().size() != l.nodes()) {
                throw new BankException(where + ": level " + l.level() + " lists "
                        + (l.crc32c() == null ? 0 : l.crc32c().size()) + " checksums for " + l.nodes() + " blocks");
            }
        }
        return m;
    }

    /** The level entry for tree level {@code level}, or null when that level has no blocks. */
    public Level level(int level) {
        for (Level l : levels) if (l.level() == level) return l;
        return null;
    }

    /** Neurons of the memory fetched for one leaf path (Σ r_l). */
    public int fetchedNeurons() {
        int r = 0;
        for (Level l : levels) r += l.neurons();
        return r;
    }

    /** Parameters of the whole bank (all blocks, generic included). */
    public long bankParameters() {
        long p = 0;
        for (Level l : levels) p += l.nodes() * 3L * l.neurons() * anchor.hiddenSize() * anchor.numHiddenLayers();
        if (generic != null) p += 3L * generic.neurons() * anchor.hiddenSize() * anchor.numHiddenLayers();
        return p;
    }
}
