package dev.hmem.runtime.bank;

/**
 * Names one block of a bank: a tree node (level ≥ 1, its path prefix) or the generic memory
 * (level 0, empty path).
 */
public record BlockId(MemoryPath node) {

    public static final BlockId GENERIC = new BlockId(MemoryPath.ROOT);

    public int level() {
        return node.depth();
    }

    public boolean isGeneric() {
        return node.depth() == 0;
    }

    @Override
    public String toString() {
        return isGeneric() ? "generic" : node.toString();
    }
}
