package dev.hmem.runtime.bank;

import java.util.Arrays;

/**
 * A root-to-node path of the cluster tree, written as child digits joined by dots ("3.11.7":
 * child 3 of the root, its child 11, that node's child 7). A prompt's memory is the blocks of
 * every prefix of its leaf path.
 */
public final class MemoryPath {

    public static final MemoryPath ROOT = new MemoryPath(new int[0]);

    private final int[] digits;

    private MemoryPath(int[] digits) {
        this.digits = digits;
    }

    public static MemoryPath of(int... digits) {
        for (int d : digits) {
            if (d < 0) throw new IllegalArgumentException("negative child index in path " + Arrays.toString(digits));
        }
        return new MemoryPath(digits.clone());
    }

    /** Parses "3.11.7"; an empty string is the root. */
    public static MemoryPath parse(String s) {
        String t = s.trim();
        if (t.isEmpty()) return ROOT;
        String[] parts = t.split("\\.", -1);
        int[] d = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                d[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid memory path '" + s
                        + "': expected child indices joined by dots, e.g. 3.11.7");
            }
            if (d[i] < 0) throw new IllegalArgumentException("invalid memory path '" + s + "': negative index");
        }
        return new MemoryPath(d);
    }

    public int depth() {
        return digits.length;
    }

    public int digit(int i) {
        return digits[i];
    }

    /** The first {@code n} steps of this path. */
    public MemoryPath prefix(int n) {
        if (n == digits.length) return this;
        return new MemoryPath(Arrays.copyOf(digits, n));
    }

    public MemoryPath child(int digit) {
        int[] d = Arrays.copyOf(digits, digits.length + 1);
        d[digits.length] = digit;
        return new MemoryPath(d);
    }

    /** Row-major index of this node among the k^depth nodes of its level. */
    public long nodeIndex(int branching) {
        long idx = 0;
        for (int d : digits) idx = idx * branching + d;
        return idx;
    }

    public static MemoryPath fromNodeIndex(long index, int depth, int branching) {
        int[] d = new int[depth];
        for (int i = depth - 1; i >= 0; i--) {
            d[i] = (int) (index % branching);
            index /= branching;
        }
        return new MemoryPath(d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MemoryPath p && Arrays.equals(digits, p.digits);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(digits);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < digits.length; i++) {
            if (i > 0) sb.append('.');
            sb.append(digits[i]);
        }
        return sb.toString();
    }
}
