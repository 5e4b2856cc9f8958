package dev.hmem.model.train;

import dev.hmem.model.Progress;
import dev.hmem.model.cluster.HierarchicalKMeans;
import dev.hmem.model.corpus.Corpus;
import dev.hmem.model.corpus.CorpusBuilder;
import dev.hmem.model.corpus.Document;
import dev.hmem.model.memory.ClusterTree;
import dev.hmem.model.memory.MemoryPath;
import dev.hmem.model.router.MiniLmEmbedder;
import dev.hmem.model.tokenizer.BpeTrainer;
import dev.hmem.model.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The corpus made trainable: built from its spec, a tokenizer learned on it, every document
 * tokenized, embedded with MiniLM and assigned to a leaf of a hierarchical k-means tree.
 *
 * @param docTokens  per document: its tokens (beginning-of-text first) followed by end-of-text
 * @param docLeaves  per document: its leaf path
 */
public record PreparedData(Corpus corpus, Path tokenizerDir, int vocab, int bos, int eos, int[][] docTokens,
                           MemoryPath[] docLeaves, ClusterTree tree) {

    /**
     * @param tokenizer an existing tokenizer directory to use (post-hoc memories on a trained
     *                  anchor), or null to learn one on the corpus
     */
    public static PreparedData prepare(TrainConfig c, Path workDir, Path proseDir, Path tokenizer, PrintStream log)
            throws IOException {
        log.println("[prepare] building the corpus (seed " + c.seed() + ")");
        Corpus corpus = CorpusBuilder.build(c.corpus(), proseDir);
        corpus.save(workDir.resolve("corpus"));
        log.printf("[prepare] %d facts, %d documents (%d fact sentences, %d prose), %d held-out paragraphs%n",
                corpus.facts().size(), corpus.documents().size(), corpus.factDocuments(),
                corpus.documents().size() - corpus.factDocuments(), corpus.heldOut().size());

        // Unique texts: a fact sentence repeated 400 times is tokenized and embedded once.
        Map<String, Integer> unique = new LinkedHashMap<>();
        for (Document d : corpus.documents()) unique.putIfAbsent(d.text(), unique.size());
        List<String> texts = new ArrayList<>(unique.keySet());

        Path tokDir = tokenizer;
        int vocab, bos, eos;
        if (tokDir == null) {
            log.println("[prepare] learning a " + c.vocab() + "-token BPE vocabulary");
            BpeTrainer.Vocabulary v = BpeTrainer.train(texts, c.vocab(), 2);
            tokDir = workDir.resolve("tokenizer");
            BpeTrainer.write(v, tokDir, c.context());
            vocab = v.size();
            bos = v.bosId();
            eos = v.eosId();
        } else {
            dev.hmem.model.config.ModelConfig mc = dev.hmem.model.config.ModelConfig.load(tokDir);
            vocab = mc.vocabSize();
            bos = mc.bosTokenId();
            eos = mc.eosTokenIds().get(0);
        }
        int[][] uniqueTokens = new int[texts.size()][];
        try (TextTokenizer tok = TextTokenizer.load(tokDir)) {
            for (int i = 0; i < texts.size(); i++) {
                int[] t = tok.encode(texts.get(i));
                int[] withEos = java.util.Arrays.copyOf(t, t.length + 1);
                withEos[t.length] = eos;
                uniqueTokens[i] = withEos;
            }
        }

        float[][] emb = new float[texts.size()][];
        Progress p = new Progress("embed", texts.size(), "texts", log, 5);
        // Batches of similar length: padding a one-line fact to a paragraph's length would
        // multiply MiniLM's work.
        Integer[] byLength = new Integer[texts.size()];
        for (int i = 0; i < byLength.length; i++) byLength[i] = i;
        java.util.Arrays.sort(byLength, java.util.Comparator.comparingInt(i -> texts.get(i).length()));
        try (MiniLmEmbedder e = MiniLmEmbedder.load(0)) {
            for (int i = 0; i < byLength.length; i += 32) {
                List<String> batch = new ArrayList<>();
                for (int j = i; j < Math.min(byLength.length, i + 32); j++) batch.add(texts.get(byLength[j]));
                float[][] out = e.embed(batch);
                for (int j = 0; j < out.length; j++) emb[byLength[i + j]] = out[j];
                p.advance(out.length);
            }
        }
        log.printf("[prepare] hierarchical k-means: k=%d, depth %d over %d texts%n", c.branching(), c.depth(), texts.size());
        HierarchicalKMeans.Result hk = HierarchicalKMeans.fit(emb, c.branching(), c.depth(), c.minLeaf(), 25, c.seed(),
                ClusterTree.MINILM, new Progress("cluster", 1 + c.branching(), "nodes", log, 5));

        int n = corpus.documents().size();
        int[][] docTokens = new int[n][];
        MemoryPath[] docLeaves = new MemoryPath[n];
        for (int i = 0; i < n; i++) {
            int u = unique.get(corpus.documents().get(i).text());
            docTokens[i] = uniqueTokens[u];
            docLeaves[i] = hk.leaves()[u];
        }
        Files.createDirectories(workDir);
        return new PreparedData(corpus, tokDir, vocab, bos, eos, docTokens, docLeaves, hk.tree());
    }
}
