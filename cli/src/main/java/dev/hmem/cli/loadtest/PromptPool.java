package dev.hmem.cli.loadtest;

import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.training.corpus.Corpus;
import dev.hmem.training.corpus.Fact;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Prompts for load runs, grouped by the leaf they route to (so popularity can follow clusters). */
public final class PromptPool {

    private PromptPool() {}

    /** The probes of a corpus's facts (at most {@code max}). */
    public static List<String> probes(Path corpusDir, int max) throws IOException {
        List<String> out = new ArrayList<>();
        for (Fact f : Corpus.load(corpusDir).facts()) {
            if (out.size() >= max) break;
            out.add(f.probe());
        }
        return out;
    }

    /**
     * The groups Zipf popularity is drawn over: prompts by the leaf they route to in {@code bank},
     * or, without a bank, each prompt its own group.
     */
    public static Map<String, List<String>> clusters(List<String> prompts, Path bank) throws IOException {
        if (bank == null) return each(prompts);
        try (dev.hmem.runtime.bank.MemoryBank b = dev.hmem.runtime.bank.MemoryBank.open(bank)) {
            return byLeaf(prompts, b.tree());
        }
    }

    /** Groups prompts by their leaf in {@code tree} (MiniLM routing, as the job does). */
    public static Map<String, List<String>> byLeaf(List<String> prompts, ClusterTree tree) throws IOException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        try (MiniLmEmbedder e = MiniLmEmbedder.load(0)) {
            for (int i = 0; i < prompts.size(); i += 64) {
                List<String> batch = prompts.subList(i, Math.min(prompts.size(), i + 64));
                float[][] emb = e.embed(batch);
                for (int j = 0; j < batch.size(); j++) {
                    MemoryPath leaf = tree.route(emb[j]);
                    out.computeIfAbsent(leaf.toString(), k -> new ArrayList<>()).add(batch.get(j));
                }
            }
        }
        return out;
    }

    /** Each prompt its own "cluster" (popularity then follows prompts). */
    public static Map<String, List<String>> each(List<String> prompts) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (int i = 0; i < prompts.size(); i++) out.put(Integer.toString(i), List.of(prompts.get(i)));
        return out;
    }
}
