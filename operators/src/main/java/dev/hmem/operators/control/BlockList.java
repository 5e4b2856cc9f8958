package dev.hmem.operators.control;

import dev.hmem.runtime.bank.MemoryPath;
import java.io.Serializable;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The memories a block command took out of service: subtrees named by their root path ("3", "3.11") and the generic
 * memory ("generic").
 *
 * <p>A routed path is used up to, not including, its first blocked node: "3.11.7" with "3.11" blocked is answered with
 * "3", with "3" blocked by the anchor alone ("none"). A path's memory is the concatenation of its prefixes' blocks, so
 * blocking one block cuts everything below it for the prompts routed through it: for serving, blocking a block and
 * blocking its subtree are the same. When the first level is blocked the prompt gets the anchor alone, not the
 * generic memory: the generic memory was trained on every document, the blocked subtree's included, so it would
 * keep answering part of what was blocked.
 */
public record BlockList(Set<String> paths) implements Serializable {

    public static final BlockList NONE = new BlockList(Set.of());

    /** What blocking changed for one prompt. */
    public record Cut(String used, String blocked) {}

    public BlockList {
        paths = Set.copyOf(new TreeSet<>(paths));
    }

    /** Null when every entry is "generic" or a path of one or more child indices; else what is wrong. */
    static String problem(List<String> entries) {
        for (String p : entries) {
            if (p == null || p.isBlank()) return "an empty path cannot be blocked (the root is the whole bank; block its subtrees)";
            if (p.equals("generic")) continue;
            try {
                MemoryPath.parse(p);
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
        }
        return null;
    }

    public BlockList with(List<String> entries) {
        TreeSet<String> s = new TreeSet<>(paths);
        for (String e : entries) s.add(normal(e));
        return new BlockList(s);
    }

    public BlockList without(List<String> entries) {
        TreeSet<String> s = new TreeSet<>(paths);
        for (String e : entries) s.remove(normal(e));
        return new BlockList(s);
    }

    private static String normal(String entry) {
        return entry.equals("generic") ? entry : MemoryPath.parse(entry).toString();
    }

    public boolean isEmpty() {
        return paths.isEmpty();
    }

    /** Whether the block at {@code path} ("3.11", "generic") may no longer be used. */
    public boolean blocks(String path) {
        return cut(path) != null;
    }

    /**
     * The memory a prompt routed to {@code path} may use, or null when nothing on it is blocked. {@code path} is a
     * routed path, "generic" or "none".
     */
    public Cut cut(String path) {
        if (paths.isEmpty() || path == null || path.equals("none") || path.isEmpty()) return null;
        if (path.equals("generic")) return paths.contains("generic") ? new Cut("none", "generic") : null;
        MemoryPath p = MemoryPath.parse(path);
        for (int k = 1; k <= p.depth(); k++) {
            String prefix = p.prefix(k).toString();
            if (paths.contains(prefix)) return new Cut(k == 1 ? "none" : p.prefix(k - 1).toString(), prefix);
        }
        return null;
    }
}
