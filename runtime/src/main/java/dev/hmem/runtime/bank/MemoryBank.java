package dev.hmem.runtime.bank;

import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.io.SafeTensorsFile;
import dev.hmem.runtime.io.TensorInfo;
import dev.hmem.runtime.tensor.Tensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A memory bank opened for reading through a {@link BlockStore}: the manifest and tree are read
 * at open (and each level file's header checked against the manifest); blocks are read on demand,
 * one ranged read each, and verified against their CRC32C before use.
 */
public final class MemoryBank implements AutoCloseable {

    private final BlockStore store;
    private final BankManifest manifest;
    private final ClusterTree tree;

    private MemoryBank(BlockStore store, BankManifest manifest, ClusterTree tree) {
        this.store = store;
        this.manifest = manifest;
        this.tree = tree;
    }

    public static MemoryBank open(Path dir) throws IOException {
        return open(new LocalBlockStore(dir));
    }

    /** Opens the bank in {@code store}; the bank owns the store from here on. */
    public static MemoryBank open(BlockStore store) throws IOException {
        try {
            if (!store.exists(BankManifest.FILE)) {
                throw new BankException(store.location() + " is not a memory bank: no " + BankManifest.FILE
                        + " (an interrupted build leaves none)");
            }
            ByteBuffer mb = store.readAll(BankManifest.FILE);
            byte[] json = new byte[mb.remaining()];
            mb.get(json);
            BankManifest m = BankManifest.parse(json, store.location());
            ClusterTree tree = ClusterTree.read(store.readAll(m.tree().file()), Path.of(store.location(), m.tree().file()));
            if (tree.branching() != m.tree().branching() || tree.depth() != m.tree().depth()) {
                throw new BankException(store.location() + ": tree file disagrees with the manifest on branching/depth");
            }
            MemoryBank bank = new MemoryBank(store, m, tree);
            for (BankManifest.Level l : m.levels()) bank.checkLevelFile(l);
            if (m.generic() != null) bank.checkLevelFile(m.generic());
            return bank;
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** The level file's own header must describe exactly the blocks the manifest promises. */
    private void checkLevelFile(BankManifest.Level l) throws IOException {
        String where = store.location() + "/" + l.file();
        long size = store.size(l.file());
        if (size != l.dataOffset() + l.nodes() * l.blockBytes()) {
            throw new BankException(where + " has " + size + " bytes; the manifest describes "
                    + (l.dataOffset() + l.nodes() * l.blockBytes()) + " (truncated or replaced file)");
        }
        ByteBuffer head = store.read(l.file(), 0, Math.toIntExact(Math.min(size, l.dataOffset())));
        Map<String, TensorInfo> tensors = SafeTensorsFile.parseHeader(Path.of(where), head, size, new HashMap<>());
        if (tensors.size() != l.nodes()) {
            throw new BankException(where + " holds " + tensors.size() + " blocks, the manifest " + l.nodes());
        }
        TensorInfo first = tensors.values().iterator().next();
        if (first.begin() != 0 || first.byteSize() != l.blockBytes() || !first.hasShape(l.blockShape())
                || DType.parse(l.dtype()) != first.dtype()) {
            throw new BankException(where + ": first block " + first.name() + " " + first.shapeString() + " "
                    + first.dtype() + " does not match the manifest");
        }
    }

    public BankManifest manifest() {
        return manifest;
    }

    public ClusterTree tree() {
        return tree;
    }

    public BlockStore store() {
        return store;
    }

    /**
     * Refuses to pair this bank with an anchor it was not trained for ({@code AnchorWeights.identity()}): memory
     * neurons are only meaningful next to the exact anchor weights they were trained with.
     */
    public void checkAnchor(BankManifest.Anchor anchor) {
        BankManifest.Anchor a = manifest.anchor();
        if (a.hiddenSize() != anchor.hiddenSize() || a.numHiddenLayers() != anchor.numHiddenLayers()) {
            throw new BankException("bank " + store.location() + " is for an anchor with " + a.numHiddenLayers()
                    + " layers of width " + a.hiddenSize() + ", but the model has " + anchor.numHiddenLayers()
                    + " layers of width " + anchor.hiddenSize());
        }
        if (!a.fingerprint().equals(anchor.fingerprint())) {
            throw new BankException("bank " + store.location() + " was trained with anchor " + a.fingerprint()
                    + " but the loaded anchor is " + anchor.fingerprint()
                    + ": memories only work with the exact anchor weights they were trained with");
        }
    }

    /** Checks that {@code path} names a node of the tree; the message names the bad step. */
    public MemoryPath validate(MemoryPath path) {
        if (path.depth() > tree.depth()) {
            throw new IllegalArgumentException("memory path " + path + " has " + path.depth()
                    + " levels, the tree only " + tree.depth());
        }
        MemoryPath node = MemoryPath.ROOT;
        for (int i = 0; i < path.depth(); i++) {
            int count = tree.childCount(node);
            if (path.digit(i) >= count) {
                throw new IllegalArgumentException("memory path " + path + " is not in the tree: node '" + node
                        + "' has " + count + " children (0.." + (count - 1) + ")");
            }
            node = node.child(path.digit(i));
        }
        return path;
    }

    /** Every block of the bank: the generic memory (if any), then each level's nodes in order. */
    public List<BlockId> allBlocks() {
        List<BlockId> ids = new ArrayList<>();
        if (manifest.generic() != null) ids.add(BlockId.GENERIC);
        for (BankManifest.Level l : manifest.levels()) {
            for (long i = 0; i < l.nodes(); i++) {
                ids.add(new BlockId(MemoryPath.fromNodeIndex(i, l.level(), manifest.tree().branching())));
            }
        }
        return ids;
    }

    /** Blocks that make up the memory of {@code path}: one per prefix whose level has blocks. */
    public List<BlockId> blocksFor(MemoryPath path) {
        validate(path);
        List<BlockId> ids = new ArrayList<>();
        for (int level = 1; level <= path.depth(); level++) {
            if (manifest.level(level) != null) ids.add(new BlockId(path.prefix(level)));
        }
        return ids;
    }

    private BankManifest.Level levelOf(BlockId id) {
        if (id.isGeneric()) {
            if (manifest.generic() == null) throw new BankException("bank " + store.location() + " has no generic memory");
            return manifest.generic();
        }
        BankManifest.Level l = manifest.level(id.level());
        if (l == null) throw new BankException("bank " + store.location() + " has no blocks at level " + id.level());
        return l;
    }

    /** Bytes the block occupies once loaded (f32). */
    public long loadedBytes(BlockId id) {
        BankManifest.Level l = levelOf(id);
        return l.blockBytes() / DType.parse(l.dtype()).bytes() * 4;
    }

    /** The block's stored bytes after verifying their checksum. */
    public ByteBuffer readVerified(BlockId id) throws IOException {
        BankManifest.Level l = levelOf(id);
        long index = id.isGeneric() ? 0 : validate(id.node()).nodeIndex(tree.branching());
        long offset = l.offsetOf(index);
        ByteBuffer bytes = store.read(l.file(), offset, Math.toIntExact(l.blockBytes()));
        CRC32C crc = new CRC32C();
        crc.update(bytes.duplicate());
        String actual = String.format("%08x", crc.getValue());
        String expected = l.crc32c().get((int) index);
        if (!actual.equals(expected)) {
            throw new CorruptBlockException("memory block " + id + " (level " + l.level() + ", " + l.file()
                    + " bytes " + offset + ".." + (offset + l.blockBytes()) + ") is corrupt: CRC32C " + actual
                    + ", manifest says " + expected);
        }
        return bytes;
    }

    /** Reads, verifies and converts one block to f32 on {@code manager}. */
    public MemoryBlock load(BlockId id, NDManager manager) throws IOException {
        BankManifest.Level l = levelOf(id);
        ByteBuffer bytes = readVerified(id);
        return new MemoryBlock(id, Tensors.toF32(manager, bytes, DType.parse(l.dtype()), l.blockShape()));
    }

    @Override
    public void close() throws IOException {
        store.close();
    }
}
