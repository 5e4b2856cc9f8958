package dev.hmem.runtime.bank;

import dev.hmem.runtime.Progress;
import dev.hmem.runtime.io.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;

/**
 * A copy of a bank with the blocks of some subtrees erased: their bytes are zeros on storage, not merely unused. For
 * privacy requests that need the bytes gone; the copy is a new bank version, served with {@code hmem swap}. A zero
 * block adds exactly nothing to a feed-forward layer (its SwiGLU neurons output zero), so a prompt routed into an erased
 * subtree is answered as if the path stopped above it: the same as blocking the subtree, without the bytes. Every other
 * block is copied value for value, in its stored dtype, and verified on the way.
 */
public final class BankDeletion {

    private BankDeletion() {}

    /**
     * Writes {@code src} without the subtrees {@code roots} ("3", "3.11", or "generic") to {@code out}, which must not
     * exist yet. Returns the new manifest.
     */
    public static BankManifest write(MemoryBank src, Path out, List<String> roots, Progress progress) throws IOException {
        if (Files.exists(out)) throw new IOException(out + " exists: the erased copy is written to a new directory");
        if (roots.isEmpty()) throw new IllegalArgumentException("name at least one subtree to erase");
        List<MemoryPath> paths = roots.stream().filter(r -> !r.equals("generic")).map(MemoryPath::parse)
                .map(src::validate).toList();
        boolean generic = roots.contains("generic");
        Predicate<MemoryPath> erased = node -> paths.stream().anyMatch(p -> p.depth() <= node.depth()
                && node.prefix(p.depth()).equals(p));
        BankManifest m = src.manifest();
        BankWriter w = new BankWriter(out, m.anchor(), src.tree(), m.description() + " (erased: " + String.join(", ", roots) + ")");
        for (BankManifest.Level l : m.levels()) {
            DType dtype = DType.parse(l.dtype());
            w.writeLevel(l.level(), l.neurons(), dtype, i -> {
                MemoryPath node = MemoryPath.fromNodeIndex(i, l.level(), m.tree().branching());
                float[] v = erased.test(node) ? new float[floats(l, dtype)] : floats(src.readVerified(new BlockId(node)), l, dtype);
                progress.advance(1);
                return v;
            }, Progress.silent(l.nodes()));
        }
        if (m.generic() != null) {
            BankManifest.Level g = m.generic();
            DType dtype = DType.parse(g.dtype());
            w.writeGeneric(g.neurons(), dtype, generic ? new float[floats(g, dtype)] : floats(src.readVerified(BlockId.GENERIC), g, dtype));
        }
        return w.finish();
    }

    private static int floats(BankManifest.Level l, DType dtype) {
        return Math.toIntExact(l.blockBytes() / dtype.bytes());
    }

    private static float[] floats(ByteBuffer stored, BankManifest.Level l, DType dtype) {
        int n = floats(l, dtype);
        FloatBuffer f = FloatBuffer.allocate(n);
        dtype.decodeFloats(stored.duplicate().order(ByteOrder.LITTLE_ENDIAN), f, n);
        return f.array();
    }
}
