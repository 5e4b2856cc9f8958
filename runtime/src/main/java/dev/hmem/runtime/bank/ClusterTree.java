package dev.hmem.runtime.bank;

import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.io.SafeTensorsFile;
import dev.hmem.runtime.io.SafeTensorsWriter;
import dev.hmem.runtime.io.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The hierarchical k-means tree that routes a prompt embedding to a leaf: greedy top-down, at each
 * level the nearest (L2) of the current node's child centroids, so depth·k distance computations.
 * Nodes may have fewer than k children (small clusters are not split further); children are
 * always digits 0..count-1.
 */
public final class ClusterTree {

    public static final String MINILM = "sentence-transformers/all-MiniLM-L6-v2";
    public static final String FILE = "tree.safetensors";

    private final int branching;
    private final int depth;
    private final int dim;
    private final String embeddingModel;
    private final float[][] centroids;  // (level)(nodes(level) * k * dim)
    private final int[][] children;     // (level)(nodes(level)): valid children per node

    public ClusterTree(int branching, int depth, int dim, String embeddingModel, float[][] centroids, int[][] children) {
        if (branching < 2) throw new IllegalArgumentException("branching must be >= 2, got " + branching);
        if (depth < 1) throw new IllegalArgumentException("depth must be >= 1, got " + depth);
        if (centroids.length != depth || children.length != depth) {
            throw new IllegalArgumentException("tree of depth " + depth + " needs centroids for " + depth + " levels");
        }
        for (int l = 0; l < depth; l++) {
            long nodes = nodes(branching, l);
            if (children[l].length != nodes || centroids[l].length != nodes * branching * dim) {
                throw new IllegalArgumentException("level " + l + " must have " + nodes + " nodes of "
                        + branching + " centroids of dimension " + dim);
            }
        }
        this.branching = branching;
        this.depth = depth;
        this.dim = dim;
        this.embeddingModel = embeddingModel;
        this.centroids = centroids;
        this.children = children;
    }

    /** k^level, the nodes of a level (level 0 = the root). */
    public static long nodes(int branching, int level) {
        long n = 1;
        for (int i = 0; i < level; i++) n = Math.multiplyExact(n, branching);
        return n;
    }

    public int branching() {
        return branching;
    }

    public int depth() {
        return depth;
    }

    public int dim() {
        return dim;
    }

    public String embeddingModel() {
        return embeddingModel;
    }

    /** Nodes that exist at {@code level} (1 = the root's children): a node splits only when it has enough documents. */
    public long nodesAt(int level) {
        if (level == 0) return 1;
        long n = 0;
        for (int i = 0; i < children[level - 1].length; i++) n += children[level - 1][i];
        return n;
    }

    public int childCount(MemoryPath node) {
        return children[node.depth()][(int) node.nodeIndex(branching)];
    }

    /** The leaf path of an embedding (length = depth unless the tree stops early). */
    public MemoryPath route(float[] embedding) {
        return routeExcluding(embedding, -1);
    }

    /**
     * The leaf an embedding reaches when the root's child {@code blockedTopChild} is unavailable
     * (-1: none): the paper's control of blocking the best-matching subtree (1/k of the bank).
     */
    public MemoryPath routeExcluding(float[] embedding, int blockedTopChild) {
        if (embedding.length != dim) {
            throw new IllegalArgumentException("embedding has " + embedding.length + " dimensions, the tree " + dim);
        }
        MemoryPath node = MemoryPath.ROOT;
        for (int level = 0; level < depth; level++) {
            int best = nearestChild(level, (int) node.nodeIndex(branching), embedding, level == 0 ? blockedTopChild : -1);
            if (best < 0) break;
            node = node.child(best);
        }
        return node;
    }

    /** The child of node {@code idx} at {@code level} nearest (L2) to the embedding, or -1 if none. */
    private int nearestChild(int level, int idx, float[] embedding, int excluded) {
        float[] c = centroids[level];
        int best = -1;
        double bestDist = Double.MAX_VALUE;
        for (int child = 0; child < children[level][idx]; child++) {
            if (child == excluded) continue;
            int base = (idx * branching + child) * dim;
            double dist = 0;
            for (int j = 0; j < dim; j++) {
                double diff = embedding[j] - c[base + j];
                dist += diff * diff;
            }
            if (dist < bestDist) {
                bestDist = dist;
                best = child;
            }
        }
        return best;
    }

    /** Centroid of {@code node}'s child {@code child} (a copy). */
    public float[] centroid(MemoryPath node, int child) {
        int base = (int) ((node.nodeIndex(branching) * branching + child) * dim);
        float[] out = new float[dim];
        System.arraycopy(centroids[node.depth()], base, out, 0, dim);
        return out;
    }

    /** A full tree of random unit-vector centroids (for tests and benchmarks). */
    public static ClusterTree random(int branching, int depth, int dim, long seed) {
        Random rnd = new Random(seed);
        float[][] cents = new float[depth][];
        int[][] kids = new int[depth][];
        for (int l = 0; l < depth; l++) {
            int nodes = Math.toIntExact(nodes(branching, l));
            cents[l] = new float[nodes * branching * dim];
            kids[l] = new int[nodes];
            java.util.Arrays.fill(kids[l], branching);
            for (int c = 0; c < nodes * branching; c++) {
                double norm = 0;
                for (int j = 0; j < dim; j++) {
                    float v = (float) rnd.nextGaussian();
                    cents[l][c * dim + j] = v;
                    norm += v * v;
                }
                float inv = (float) (1 / Math.sqrt(norm));
                for (int j = 0; j < dim; j++) cents[l][c * dim + j] *= inv;
            }
        }
        return new ClusterTree(branching, depth, dim, MINILM, cents, kids);
    }

    public void write(Path file) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "hmem-cluster-tree");
        meta.put("branching", Integer.toString(branching));
        meta.put("depth", Integer.toString(depth));
        meta.put("embedding_model", embeddingModel);
        meta.put("embedding_dim", Integer.toString(dim));
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        for (int l = 0; l < depth; l++) {
            entries.add(new SafeTensorsWriter.Entry("centroids." + l, DType.F32,
                    new long[] {nodes(branching, l), branching, dim}));
            entries.add(new SafeTensorsWriter.Entry("children." + l, DType.I32, new long[] {nodes(branching, l)}));
        }
        try (SafeTensorsWriter w = SafeTensorsWriter.create(file, meta, entries)) {
            for (int l = 0; l < depth; l++) {
                w.writeFloats(centroids[l], DType.F32);
                w.writeInts(children[l]);
            }
        }
    }

    public static ClusterTree read(ByteBuffer bytes, Path name) throws IOException {
        SafeTensorsFile f = SafeTensorsFile.fromBytes(name, bytes);
        Map<String, String> m = f.metadata();
        try {
            int k = Integer.parseInt(m.get("branching"));
            int depth = Integer.parseInt(m.get("depth"));
            int dim = Integer.parseInt(m.get("embedding_dim"));
            float[][] cents = new float[depth][];
            int[][] kids = new int[depth][];
            for (int l = 0; l < depth; l++) {
                TensorInfo c = f.info("centroids." + l);
                if (!c.hasShape(nodes(k, l), k, dim)) {
                    throw new BankException(name + ": centroids." + l + " has shape " + c.shapeString());
                }
                cents[l] = f.readFloats(c);
                kids[l] = f.readInts(f.info("children." + l));
                for (int count : kids[l]) {
                    if (count < 0 || count > k) throw new BankException(name + ": level " + l + " lists " + count + " children");
                }
            }
            return new ClusterTree(k, depth, dim, m.getOrDefault("embedding_model", "?"), cents, kids);
        } catch (NumberFormatException | NullPointerException e) {
            throw new BankException(name + ": tree metadata incomplete (branching, depth, embedding_dim): " + m);
        }
    }
}
