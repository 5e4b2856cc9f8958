package dev.hmem.runtime.router;

import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.bank.MemoryPath;
import java.util.ArrayList;
import java.util.List;

/**
 * Prompt → leaf path: embeds prompts in one MiniLM batch and walks the cluster tree greedily.
 */
public final class Router implements AutoCloseable {

    private final MiniLmEmbedder embedder;
    private final ClusterTree tree;

    public Router(MiniLmEmbedder embedder, ClusterTree tree) {
        if (tree.dim() != MiniLmEmbedder.DIM) {
            throw new IllegalArgumentException("tree centroids have " + tree.dim() + " dimensions, MiniLM "
                    + MiniLmEmbedder.DIM);
        }
        this.embedder = embedder;
        this.tree = tree;
    }

    public List<MemoryPath> route(List<String> prompts) {
        float[][] e = embedder.embed(prompts);
        List<MemoryPath> paths = new ArrayList<>(e.length);
        for (float[] v : e) paths.add(tree.route(v));
        return paths;
    }

    public MemoryPath route(String prompt) {
        return route(List.of(prompt)).get(0);
    }

    @Override
    public void close() {
        embedder.close();
    }
}
