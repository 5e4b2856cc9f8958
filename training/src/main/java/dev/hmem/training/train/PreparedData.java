package dev.hmem.training.train;

import dev.hmem.runtime.Progress;
import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import dev.hmem.training.cluster.HierarchicalKMeans;
import dev.hmem.training.corpus.Corpus;
import dev.hmem.training.corpus.CorpusBuilder;
import dev.hmem.training.corpus.Document;
import dev.hmem.training.corpus.Fact;
import dev.hmem.training.tokenizer.BpeTrainer;
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
 * tokenized, and every document given the leaf of a hierarchical k-means tree it trains. The tree
 * clusters <em>subjects</em> (and prose paragraphs), not single documents: a subject is embedded as
 * the mean of the MiniLM embeddings of every sentence its articles may hold, so all its articles —
 * and the questions about it, which read like its sentences — meet in one leaf; a paragraph as the
 * mean of its sentences, so a text routed on its opening lands among paragraphs like it.
 *
 * @param docTokens     per document: its tokens (beginning-of-text first) followed by end-of-text
 * @param docLeaves     per document: its leaf path
 * @param factLeaves    per fact: the leaf its subject's articles train
 * @param probeRouting  share of fact probes that MiniLM routing sends to their fact's leaf
 */
public record PreparedData(Corpus corpus, Path tokenizerDir, int vocab, int bos, int eos, int[][] docTokens,
                           MemoryPath[] docLeaves, MemoryPath[] factLeaves, double probeRouting, ClusterTree tree) {

    /**
     * @param tokenizer an existing tokenizer directory to use (post-hoc memories on a trained
     *                  anchor), or null to learn one on the corpus
     */
    public static PreparedData prepare(TrainConfig c, Path workDir, Path proseDir, Path tokenizer, PrintStream log)
            throws IOException {
        log.println("[prepare] building the corpus (seed " + c.seed() + ")");
        return prepare(c, workDir, CorpusBuilder.build(c.corpus(), proseDir), tokenizer, log);
    }

    /** As above, on a corpus already built (a user's documents, {@code UserDocuments}). */
    public static PreparedData prepare(TrainConfig c, Path workDir, Corpus corpus, Path tokenizer, PrintStream log)
            throws IOException {
        corpus.save(workDir.resolve("corpus"));
        log.printf("[prepare] %d facts about %d subjects, %d documents (%d articles, %d prose), %d held-out paragraphs%n",
                corpus.facts().size(), corpus.subjects().size(), corpus.documents().size(), corpus.factDocuments(),
                corpus.documents().size() - corpus.factDocuments(), corpus.heldOut().size());

        // Unique texts: an article repeated word for word is tokenized once.
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
            dev.hmem.runtime.config.ModelConfig mc = dev.hmem.runtime.config.ModelConfig.load(tokDir);
            vocab = mc.vocabSize();
            bos = mc.bosTokenId();
            // Documents are packed with an end token between them, as the checkpoint was pretrained.
            if (mc.eosTokenIds().isEmpty()) {
                throw new IllegalArgumentException(tokDir + ": neither config.json nor generation_config.json names an "
                        + "eos_token_id, which separates the documents packed into one training sequence");
            }
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

        // Clustering units: every subject, then every prose paragraph of the training documents.
        List<int[]> subjects = corpus.subjects();
        Map<String, Integer> proseUnit = new LinkedHashMap<>();
        for (Document d : corpus.documents()) if (!d.isFact()) proseUnit.putIfAbsent(d.text(), subjects.size() + proseUnit.size());
        List<String> sentences = new ArrayList<>();
        int[] firstSentence = new int[subjects.size() + 1];
        for (int s = 0; s < subjects.size(); s++) {
            firstSentence[s] = sentences.size();
            sentences.addAll(CorpusBuilder.subjectSentences(subjects.get(s), corpus.facts()));
        }
        // A prose paragraph is represented the same way, by its sentences: a text routed on its first
        // sentence then lands where paragraphs like it trained.
        int[] firstProseSentence = new int[proseUnit.size() + 1];
        int pu = 0;
        for (String p : proseUnit.keySet()) {
            firstProseSentence[pu++] = sentences.size();
            sentences.addAll(CorpusBuilder.sentences(p));
        }
        firstProseSentence[pu] = sentences.size();
        List<String> probes = new ArrayList<>();
        for (Fact f : corpus.facts()) probes.add(f.probe());
        float[][] emb = embed(sentences, probes, log);
        float[][] units = new float[subjects.size() + proseUnit.size()][];
        for (int s = 0; s < subjects.size(); s++) units[s] = mean(emb, firstSentence[s], firstSentence[s + 1]);
        for (int p = 0; p < proseUnit.size(); p++) units[subjects.size() + p] = mean(emb, firstProseSentence[p], firstProseSentence[p + 1]);

        log.printf("[prepare] hierarchical k-means: k=%d, depth %d over %d subjects and %d prose paragraphs%n",
                c.branching(), c.depth(), subjects.size(), proseUnit.size());
        HierarchicalKMeans.Result hk = HierarchicalKMeans.fit(units, c.branching(), c.depth(), c.minLeaf(), 25, c.seed(),
                ClusterTree.MINILM, new Progress("cluster", 1 + c.branching(), "nodes", log, 5));

        int n = corpus.documents().size();
        int[][] docTokens = new int[n][];
        MemoryPath[] docLeaves = new MemoryPath[n];
        for (int i = 0; i < n; i++) {
            Document d = corpus.documents().get(i);
            docTokens[i] = uniqueTokens[unique.get(d.text())];
            docLeaves[i] = hk.leaves()[d.isFact() ? d.subject() : proseUnit.get(d.text())];
        }
        int[] subjectOf = corpus.subjectOfFact();
        MemoryPath[] factLeaves = new MemoryPath[corpus.facts().size()];
        int routed = 0;
        float[][] probeEmb = java.util.Arrays.copyOfRange(emb, sentences.size(), emb.length);
        for (int f = 0; f < factLeaves.length; f++) {
            factLeaves[f] = subjectOf[f] >= 0 ? hk.leaves()[subjectOf[f]] : answerLeaf(f, corpus, docLeaves, hk.tree().route(probeEmb[f]));
            if (hk.tree().route(probeEmb[f]).equals(factLeaves[f])) routed++;
        }
        double probeRouting = (double) routed / Math.max(1, factLeaves.length);
        log.printf("[prepare] %.1f%% of fact probes route to their fact's leaf%n", 100 * probeRouting);
        Files.createDirectories(workDir);
        return new PreparedData(corpus, tokDir, vocab, bos, eos, docTokens, docLeaves, factLeaves, probeRouting, hk.tree());
    }

    /** MiniLM embeddings of {@code a} then {@code b}, batched by similar length (padding costs MiniLM work). */
    static float[][] embed(List<String> a, List<String> b, PrintStream log) throws IOException {
        List<String> texts = new ArrayList<>(a);
        texts.addAll(b);
        float[][] emb = new float[texts.size()][];
        Progress p = new Progress("embed", texts.size(), "texts", log, 5);
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
        return emb;
    }

    /** The L2-normalised mean of rows {@code from..to} (exclusive). */
    static float[] mean(float[][] rows, int from, int to) {
        float[] m = new float[rows[from].length];
        for (int r = from; r < to; r++) for (int j = 0; j < m.length; j++) m[j] += rows[r][j];
        double norm = 0;
        for (float v : m) norm += v * v;
        float inv = (float) (1 / Math.sqrt(Math.max(norm, 1e-12)));
        for (int j = 0; j < m.length; j++) m[j] *= inv;
        return m;
    }

    /**
     * The leaf of a probe that belongs to no subject (a user's): the leaf most of the training passages
     * holding its answer trained, or where the probe routes when none holds it.
     */
    private static MemoryPath answerLeaf(int fact, Corpus corpus, MemoryPath[] docLeaves, MemoryPath routed) {
        Map<MemoryPath, Integer> votes = new LinkedHashMap<>();
        for (int d = 0; d < docLeaves.length; d++) {
            for (int id : corpus.documents().get(d).factIds()) if (id == fact) votes.merge(docLeaves[d], 1, Integer::sum);
        }
        return votes.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(routed);
    }
}
