package dev.hmem.model.corpus;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Builds the training corpus deterministically from a seed: a Zipf-distributed stream of short
 * documents stating facts (the most popular fact stated hundreds of times, the rarest once, each
 * time in a randomly chosen template, followed by a sentence saying what the subject is) mixed with
 * paragraphs of real English prose so the anchor learns the language around the facts.
 */
public final class CorpusBuilder {

    /** Where Debian keeps the licence texts every system ships (package base-files). */
    public static final Path PROSE_DIR = Path.of("/usr/share/common-licenses");

    private CorpusBuilder() {}

    public static Corpus build(CorpusSpec spec, Path proseDir) throws IOException {
        Random rnd = new Random(spec.seed());
        List<Fact> chosen = new ArrayList<>();
        for (FactTables.Relation rel : FactTables.Relation.values()) {
            Integer want = spec.facts().get(rel);
            if (want == null || want == 0) continue;
            List<Fact> all = new ArrayList<>(FactTables.facts(rel));
            Collections.shuffle(all, new Random(spec.seed() * 31 + rel.ordinal()));
            chosen.addAll(want < 0 || want >= all.size() ? all : all.subList(0, want));
        }
        List<Fact> facts = new ArrayList<>(chosen.size());
        for (int i = 0; i < chosen.size(); i++) {
            Fact f = chosen.get(i);
            facts.add(new Fact(i, f.relation(), f.subject(), f.answer(), f.intro(), f.sentences(), f.probe(), f.question()));
        }
        // Popularity ranks are a random permutation, so no relation is systematically common or rare.
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < facts.size(); i++) order.add(i);
        Collections.shuffle(order, rnd);
        int[] mentions = new int[facts.size()];
        for (int rank = 1; rank <= order.size(); rank++) {
            double m = spec.maxMentions() / Math.pow(rank, spec.zipf());
            mentions[order.get(rank - 1)] = (int) Math.max(spec.minMentions(), Math.round(m));
        }
        List<Document> docs = new ArrayList<>();
        for (Fact f : facts) {
            for (int k = 0; k < mentions[f.id()]; k++) {
                // A document about the subject: the fact, then what the subject is. Without the second
                // sentence, MiniLM clusters sentences by template rather than by subject and a probe
                // routes away from where its fact was learned; with the fact first, documents open
                // exactly as probes do.
                docs.add(new Document(f.sentences()[rnd.nextInt(f.sentences().length)] + " " + f.intro(), f.id()));
            }
        }
        List<String> prose = prose(proseDir);
        Collections.shuffle(prose, rnd);
        if (spec.maxProse() > 0 && prose.size() > spec.maxProse()) prose = new ArrayList<>(prose.subList(0, spec.maxProse()));
        int held = (int) Math.round(prose.size() * spec.heldOutProse());
        List<String> heldOut = new ArrayList<>(prose.subList(0, held));
        for (String p : prose.subList(held, prose.size())) {
            for (int k = 0; k < spec.proseRepeat(); k++) docs.add(new Document(p, -1));
        }
        Collections.shuffle(docs, rnd);
        return new Corpus(facts, mentions, docs, heldOut);
    }

    /**
     * Paragraphs of the prose files, whitespace normalised, duplicates dropped (the GPL versions
     * share much text), long ones cut at sentence ends to at most ~600 characters.
     */
    static List<String> prose(Path dir) throws IOException {
        Set<String> out = new LinkedHashSet<>();
        if (dir == null || !Files.isDirectory(dir)) return new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            String text = new String(Files.readAllBytes(f), StandardCharsets.UTF_8);
            for (String para : text.split("\\n\\s*\\n")) {
                String p = para.replaceAll("\\s+", " ").trim();
                if (p.length() < 60 || !p.matches(".*[a-z].*")) continue;
                for (String chunk : chunks(p, 600)) out.add(chunk);
            }
        }
        return new ArrayList<>(out);
    }

    static List<String> chunks(String p, int max) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String sentence : p.split("(?<=[.;:!?])\\s+")) {
            if (cur.length() > 0 && cur.length() + sentence.length() > max) {
                out.add(cur.toString());
                cur.setLength(0);
            }
            if (cur.length() > 0) cur.append(' ');
            cur.append(sentence);
        }
        if (cur.length() > 0) out.add(cur.toString());
        return out;
    }

    /** Facts per relation for a spec, all relations at once. */
    public static Map<FactTables.Relation, Integer> counts(int elementsNumber, int elementsSymbol, int countries,
                                                           int currencies, int languages, int subdivisions) {
        return Map.of(FactTables.Relation.ELEMENT_NUMBER, elementsNumber, FactTables.Relation.ELEMENT_SYMBOL, elementsSymbol,
                FactTables.Relation.COUNTRY_CODE, countries, FactTables.Relation.CURRENCY_CODE, currencies,
                FactTables.Relation.LANGUAGE_CODE, languages, FactTables.Relation.SUBDIVISION_COUNTRY, subdivisions);
    }
}
