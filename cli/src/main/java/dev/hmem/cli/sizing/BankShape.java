package dev.hmem.cli.sizing;

import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.io.DType;
import java.util.Arrays;

/**
 * What the cache sees of a bank: a complete k-ary tree of {@code depth} levels, and the bytes one block of each level
 * holds in the cache (r_l neurons × hidden × 3 matrices × layers × bytes per element). The block cache holds blocks
 * widened to f32 today (4 bytes per element whatever the stored dtype), so a bf16 bank takes twice its file size
 * there. The generic memory is pinned and never competes for the budget, so it is not part of the shape.
 */
public record BankShape(int branching, int depth, long[] blockBytes) {

    public BankShape {
        if (branching < 2) throw new IllegalArgumentException("branching must be >= 2, got " + branching);
        if (depth < 1 || blockBytes.length != depth) {
            throw new IllegalArgumentException("need one block size per level (" + depth + "), got " + blockBytes.length);
        }
        for (long b : blockBytes) if (b < 0) throw new IllegalArgumentException("block bytes must be >= 0: " + Arrays.toString(blockBytes));
        if (leaves(branching, depth) > 1L << 26) throw new IllegalArgumentException("more than 2^26 leaves is beyond this model");
    }

    /** The shape of a bank given as neurons per level, hidden size, layers and bytes per element (2 for bf16). */
    public static BankShape of(int branching, int[] neurons, int hidden, int layers, int bytesPerElement) {
        long[] b = new long[neurons.length];
        for (int l = 0; l < neurons.length; l++) b[l] = 3L * neurons[l] * hidden * layers * bytesPerElement;
        return new BankShape(branching, neurons.length, b);
    }

    /** The shape of a stored bank, from its manifest, with its blocks as the cache holds them (f32). */
    public static BankShape of(BankManifest m) {
        int depth = m.tree().depth();
        long[] b = new long[depth];
        for (var level : m.levels()) {
            if (level.level() >= 1 && level.level() <= depth) {
                b[level.level() - 1] = level.blockBytes() / DType.parse(level.dtype()).bytes() * 4;
            }
        }
        return new BankShape(m.tree().branching(), depth, b);
    }

    public static long leaves(int branching, int depth) {
        long n = 1;
        for (int i = 0; i < depth; i++) n = Math.multiplyExact(n, branching);
        return n;
    }

    public int leaves() {
        return (int) leaves(branching, depth);
    }

    /** Nodes at {@code level} (1-based). */
    public int nodes(int level) {
        return (int) leaves(branching, level);
    }

    /** Bytes of all blocks of {@code level}. */
    public long levelBytes(int level) {
        return nodes(level) * blockBytes[level - 1];
    }

    /** Bytes of all blocks of levels {@code from}..{@code to} (1-based, inclusive; empty when from > to). */
    public long levelBytes(int from, int to) {
        long b = 0;
        for (int l = from; l <= to; l++) b += levelBytes(l);
        return b;
    }

    /** Bytes of one root-to-leaf path. */
    public long pathBytes() {
        long s = 0;
        for (long b : blockBytes) s += b;
        return s;
    }
}
