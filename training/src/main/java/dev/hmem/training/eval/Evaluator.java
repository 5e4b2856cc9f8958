package dev.hmem.training.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.hmem.runtime.Progress;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.FfnMemory;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.ffn.MemoryPlan;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.training.corpus.Corpus;
import dev.hmem.training.corpus.Fact;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * Measures where knowledge lives: teacher-forced accuracy of every fact's answer tokens (a fact
 * counts as known when every answer token is the model's top choice), bucketed by how often the
 * fact was seen in the evaluated model's own training (PAPER.md, Figure 1), and perplexity on
 * held-out prose, under memory conditions: none, generic, fetched (routed), the memory of the
 * fact's own training leaf (oracle routing), a wrong leaf, and the best-matching level-1 subtree
 * blocked — either routed to the next subtree (a mismatched memory) or replaced by the generic
 * memory (the knowledge removed) — and a dense model without memory. Held-out paragraphs are routed
 * on their first sentence and scored on the rest, so the memory never sees the text it is scored on.
 */
public final class Evaluator implements AutoCloseable {

    /**
     * Accuracy and perplexity of one condition.
     *
     * @param known ids of the facts the condition knows (every answer token the top choice)
     */
    public record ConditionResult(String name, int[] correct, int[] total, double perplexity, double overall, int[] known) {
        public double accuracy(int bucketFrom, int bucketTo) {
            int c = 0, t = 0;
            for (int b = bucketFrom; b <= bucketTo; b++) {
                c += correct[b];
                t += total[b];
            }
            return t == 0 ? 0 : (double) c / t;
        }
    }

    /** How well MiniLM routing finds a fact's training leaf. */
    public record Routing(double leaf, double level1, int probes) {}

    /** Exposure buckets: [lo, hi] times seen. */
    public static final int[][] BUCKETS = {{0, 2}, {3, 5}, {6, 10}, {11, 25}, {26, 100}, {101, 400}, {401, Integer.MAX_VALUE}};

    private final Anchor anchor;
    private final MemoryBank bank;
    private final NDManager manager = NDManager.newBaseManager();
    private final Map<BlockId, MemoryBlock> blocks = new HashMap<>();
    private final List<FactProbe> probes = new ArrayList<>();
    private final int[] seen;
    private final List<int[]> heldOut = new ArrayList<>();
    private final int[] heldOutScoredFrom;
    private final List<float[]> heldOutEmb = new ArrayList<>();
    private final PrintStream log;

    public Evaluator(Path runDir, PrintStream log) throws IOException {
        this(runDir, EvalSplit.ALL, log);
    }

    /** A run's model and bank, scored on the fact probes and held-out paragraphs of {@code split}. */
    public Evaluator(Path runDir, EvalSplit split, PrintStream log) throws IOException {
        this.log = log;
        this.anchor = Anchor.load(runDir.resolve("model"));
        this.bank = MemoryBank.open(runDir.resolve("bank"));
        bank.checkAnchor(anchor.weights().identity());
        Corpus corpus = Corpus.load(runDir.resolve("corpus"));
        JsonObject stats = trainingStats(runDir);
        this.seen = new Gson().fromJson(stats.get("exposures"), int[].class);
        String[] leaves = new Gson().fromJson(stats.get("fact_leaves"), String[].class);
        List<Fact> facts = corpus.facts().stream().filter(f -> split.has(f.id())).toList();
        List<String> paragraphs = new ArrayList<>();
        for (int i = 0; i < corpus.heldOut().size(); i++) if (split.has(i)) paragraphs.add(corpus.heldOut().get(i));
        List<String> texts = new ArrayList<>();
        for (Fact f : facts) texts.add(f.probe());
        List<String> prefixes = new ArrayList<>();
        for (String p : paragraphs) prefixes.add(prefix(p));
        texts.addAll(prefixes);
        float[][] emb = embed(texts);
        for (int i = 0; i < facts.size(); i++) {
            Fact f = facts.get(i);
            int[] p = anchor.tokenizer().encode(f.probe());
            int[] full = anchor.tokenizer().encode(f.probe() + f.answer());
            boolean prefix = full.length > p.length && java.util.Arrays.equals(java.util.Arrays.copyOf(full, p.length), p);
            if (!prefix) continue;  // the answer would merge with the prompt's last token: not a clean probe
            probes.add(new FactProbe(f.id(), f.relation(), p, java.util.Arrays.copyOfRange(full, p.length, full.length),
                    emb[i], MemoryPath.parse(leaves[f.id()])));
        }
        heldOutScoredFrom = new int[paragraphs.size()];
        for (int i = 0; i < paragraphs.size(); i++) {
            int[] t = anchor.tokenizer().encode(paragraphs.get(i));
            heldOut.add(java.util.Arrays.copyOf(t, Math.min(t.length, anchor.config().maxPositions())));
            heldOutScoredFrom[i] = anchor.tokenizer().encode(prefixes.get(i)).length;
            heldOutEmb.add(emb[facts.size() + i]);
        }
    }

    static JsonObject trainingStats(Path runDir) throws IOException {
        JsonObject stats = JsonParser.parseString(Files.readString(runDir.resolve("training.json"))).getAsJsonObject();
        if (!stats.has("fact_leaves")) {
            throw new IOException(runDir + " was trained by an older hmem (no fact_leaves in training.json): retrain it");
        }
        return stats;
    }

    /** What a held-out paragraph is routed on: its first sentence (at most half of it). */
    static String prefix(String paragraph) {
        int half = paragraph.length() / 2;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("[.;:!?]\\s").matcher(paragraph);
        if (m.find() && m.end() <= half) return paragraph.substring(0, m.end()).trim();
        int space = paragraph.lastIndexOf(' ', half);
        return paragraph.substring(0, space > 0 ? space : half).trim();
    }

    private float[][] embed(List<String> texts) throws IOException {
        float[][] out = new float[texts.size()][];
        Progress p = new Progress("eval embed", texts.size(), "texts", log, 10);
        try (MiniLmEmbedder e = MiniLmEmbedder.load(0)) {
            for (int i = 0; i < texts.size(); i += 32) {
                float[][] b = e.embed(texts.subList(i, Math.min(texts.size(), i + 32)));
                System.arraycopy(b, 0, out, i, b.length);
                p.advance(b.length);
            }
        }
        return out;
    }

    public int probeCount() {
        return probes.size();
    }

    /** Share of probes routed to their fact's training leaf, and to its level-1 cluster. */
    public Routing routing() {
        int leaf = 0, top = 0;
        for (FactProbe f : probes) {
            MemoryPath r = bank.tree().route(f.embedding());
            if (r.equals(f.leaf())) leaf++;
            if (r.digit(0) == f.leaf().digit(0)) top++;
        }
        return new Routing((double) leaf / probes.size(), (double) top / probes.size(), probes.size());
    }

    /** All memory conditions of this run's model. */
    public List<ConditionResult> evaluateAll() throws IOException {
        List<ConditionResult> out = new ArrayList<>();
        Random rnd = new Random(5);
        int k = bank.tree().branching();
        boolean generic = bank.manifest().generic() != null;
        out.add(evaluate(anchor, "anchor alone", e -> List.of(), seen));
        if (generic) out.add(evaluate(anchor, "anchor + generic memory", e -> memory(BlockId.GENERIC), seen));
        out.add(evaluate(anchor, "anchor + fetched memory", e -> path(bank.tree().route(e)), seen));
        out.add(evaluateOracle());
        out.add(evaluate(anchor, "anchor + memory of a wrong leaf", e -> {
            MemoryPath right = bank.tree().route(e);
            int top = right.digit(0);
            int other = (top + 1 + rnd.nextInt(k - 1)) % k;
            float[] c = bank.tree().centroid(MemoryPath.ROOT, other);
            return path(bank.tree().routeExcluding(c, top));
        }, seen));
        out.add(evaluate(anchor, "best level-1 subtree blocked (" + percent(meanBlockedShare(1)) + " of the leaves), next subtree fetched",
                e -> path(bank.tree().routeExcluding(e, bank.tree().route(e).digit(0))), seen));
        if (bank.tree().depth() >= 2) {
            // What `hmem block --path` serves for a leaf: the path cut above it, so its level-1
            // block stays. Unlike swapping in the generic memory (identical to that row by
            // construction), this removes only the leaf's knowledge and keeps what its subtree shares.
            out.add(evaluate(anchor, "routed leaf blocked (" + percent(meanBlockedShare(bank.tree().depth())) + " of the leaves),"
                    + " the blocks above it alone", e -> {
                        MemoryPath r = bank.tree().route(e);
                        return path(r.prefix(r.depth() - 1));
                    }, seen));
        }
        return out;
    }

    /**
     * The anchor alone, with its fetched memory, and with the memory of each fact's own training
     * leaf: what the scaling study compares across banks (the last tells what a bank holds from what
     * routing reaches).
     */
    public List<ConditionResult> evaluateMemoryAndAnchor() {
        return List.of(evaluate(anchor, "anchor alone", e -> List.of(), seen),
                evaluate(anchor, "anchor + fetched memory", e -> path(bank.tree().route(e)), seen), evaluateOracle());
    }

    /**
     * The share of the tree's leaves under the node a probe's route reaches at {@code level},
     * averaged over the probes: what blocking that node takes away, for the tree in use (a
     * k-means tree with a minimum leaf size is not balanced, so 1/k is only its nominal share).
     */
    double meanBlockedShare(int level) {
        long leaves = leavesUnder(MemoryPath.ROOT);
        double sum = 0;
        for (FactProbe f : probes) {
            MemoryPath r = bank.tree().route(f.embedding());
            sum += (double) leavesUnder(r.prefix(Math.min(level, r.depth()))) / leaves;
        }
        return probes.isEmpty() ? 0 : sum / probes.size();
    }

    private long leavesUnder(MemoryPath node) {
        int children = node.depth() == bank.tree().depth() ? 0 : bank.tree().childCount(node);
        if (children == 0) return 1;
        long n = 0;
        for (int c = 0; c < children; c++) n += leavesUnder(node.child(c));
        return n;
    }

    private static String percent(double share) {
        return String.format(java.util.Locale.ROOT, "%.1f%%", 100 * share);
    }

    /** The memory of each fact's own training leaf: what routing could give at best. */
    private ConditionResult evaluateOracle() {
        Map<float[], MemoryPath> leafOf = new java.util.IdentityHashMap<>();
        for (FactProbe f : probes) leafOf.put(f.embedding(), f.leaf());
        return evaluate(anchor, "anchor + memory of the fact's training leaf (oracle routing)",
                e -> leafOf.containsKey(e) ? path(leafOf.get(e)) : path(bank.tree().route(e)), seen);
    }

    /** A model without memory (the dense baseline), bucketed by how often its own training saw each fact. */
    public ConditionResult evaluateDense(Path denseRun, String name) throws IOException {
        int[] denseSeen = new Gson().fromJson(trainingStats(denseRun).get("exposures"), int[].class);
        try (Anchor dense = Anchor.load(denseRun.resolve("model"))) {
            return evaluate(dense, name, e -> List.of(), denseSeen);
        }
    }

    private List<FfnMemory> path(MemoryPath p) {
        List<FfnMemory> out = new ArrayList<>();
        for (BlockId id : bank.blocksFor(p)) out.addAll(memory(id));
        return out;
    }

    private List<FfnMemory> memory(BlockId id) {
        MemoryBlock b = blocks.computeIfAbsent(id, i -> {
            try {
                return bank.load(i, manager);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        return List.of(b);
    }

    private ConditionResult evaluate(Anchor model, String name, Function<float[], List<FfnMemory>> memoryOf, int[] exposures) {
        int[] correct = new int[BUCKETS.length], total = new int[BUCKETS.length];
        Progress p = new Progress("eval " + name, probes.size() + heldOut.size(), "items", log, 15);
        int all = 0;
        List<Integer> known = new ArrayList<>();
        for (int start = 0; start < probes.size(); start += 32) {
            List<FactProbe> batch = probes.subList(start, Math.min(probes.size(), start + 32));
            List<int[]> seqs = new ArrayList<>();
            List<List<FfnMemory>> mems = new ArrayList<>();
            for (FactProbe f : batch) {
                int[] s = java.util.Arrays.copyOf(f.prompt(), f.prompt().length + f.answer().length);
                System.arraycopy(f.answer(), 0, s, f.prompt().length, f.answer().length);
                seqs.add(s);
                mems.add(memoryOf.apply(f.embedding()));
            }
            int[][] argmax = argmaxAt(model, seqs, mems);
            for (int i = 0; i < batch.size(); i++) {
                FactProbe f = batch.get(i);
                boolean ok = true;
                for (int j = 0; j < f.answer().length; j++) ok &= argmax[i][f.prompt().length - 1 + j] == f.answer()[j];
                int bucket = bucket(exposures[f.factId()]);
                total[bucket]++;
                if (ok) {
                    correct[bucket]++;
                    all++;
                    known.add(f.factId());
                }
            }
            p.advance(batch.size());
        }
        double nll = 0;
        long count = 0;
        for (int i = 0; i < heldOut.size(); i++) {
            double[] r = nll(model, heldOut.get(i), heldOutScoredFrom[i], memoryOf.apply(heldOutEmb.get(i)));
            nll += r[0];
            count += (long) r[1];
            p.advance(1);
        }
        return new ConditionResult(name, correct, total, Math.exp(nll / Math.max(1, count)), (double) all / probes.size(),
                known.stream().mapToInt(Integer::intValue).toArray());
    }

    static int bucket(int seen) {
        for (int b = 0; b < BUCKETS.length; b++) if (seen >= BUCKETS[b][0] && seen <= BUCKETS[b][1]) return b;
        return BUCKETS.length - 1;
    }

    /** Top token after every position, for right-padded sequences (causal: padding never leaks back). */
    private int[][] argmaxAt(Anchor model, List<int[]> seqs, List<List<FfnMemory>> mems) {
        int n = seqs.size(), t = 0;
        for (int[] s : seqs) t = Math.max(t, s.length);
        long[] tok = new long[n * t];
        for (int i = 0; i < n; i++) for (int j = 0; j < seqs.get(i).length; j++) tok[i * t + j] = seqs.get(i)[j];
        try (NDScope scope = new NDScope(); NDManager m = manager.newSubManager()) {
            NDArray logits = model.transformer().forwardFull(m.create(tok, new Shape(n, t)), MemoryPlan.of(mems, m));
            long[] am = logits.argMax(2).toLongArray();
            int[][] out = new int[n][t];
            for (int i = 0; i < n; i++) for (int j = 0; j < t; j++) out[i][j] = (int) am[i * t + j];
            return out;
        }
    }

    /** Summed negative log-likelihood of the tokens from {@code from} on (each given all before it), and their count. */
    private double[] nll(Anchor model, int[] tokens, int from, List<FfnMemory> mem) {
        int first = Math.max(1, Math.min(from, tokens.length - 1));
        if (tokens.length < 2) return new double[] {0, 0};
        try (NDScope scope = new NDScope(); NDManager m = manager.newSubManager()) {
            long[] tok = new long[tokens.length];
            for (int i = 0; i < tok.length; i++) tok[i] = tokens[i];
            NDArray logits = model.transformer().forwardFull(m.create(tok, new Shape(1, tok.length)), MemoryPlan.of(List.of(mem), m));
            NDArray logp = logits.logSoftmax(2).get("0, {}:{}", first - 1, tokens.length - 1);
            long[] next = java.util.Arrays.copyOfRange(tok, first, tok.length);
            NDArray picked = logp.gather(m.create(next).expandDims(1), 1);
            return new double[] {-picked.sum().getFloat(), next.length};
        }
    }

    @Override
    public void close() throws IOException {
        manager.close();
        bank.close();
        anchor.close();
    }
}
