package dev.hmem.training.corpus;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Builds the training corpus deterministically from a seed: a Zipf-distributed stream of articles
 * about subjects (an element, a country, a language ...; the most popular subject written about
 * hundreds of times, the rarest once), each stating all of its subject's facts in varied sentences,
 * mixed with paragraphs of real English prose so the anchor learns the language around the facts.
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
        // Subjects: the facts about one entity (same opening sentence) are stated together.
        Map<String, List<Integer>> bySubject = new LinkedHashMap<>();
        List<Fact> facts = new ArrayList<>(chosen.size());
        for (int i = 0; i < chosen.size(); i++) {
            Fact f = chosen.get(i).withId(i);
            facts.add(f);
            bySubject.computeIfAbsent(f.intro(), k -> new ArrayList<>()).add(i);
        }
        List<int[]> subjects = new ArrayList<>();
        for (List<Integer> ids : bySubject.values()) subjects.add(ids.stream().mapToInt(Integer::intValue).toArray());
        // Popularity ranks are a random permutation, so no relation is systematically common or rare.
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < subjects.size(); i++) order.add(i);
        Collections.shuffle(order, rnd);
        int[] subjectMentions = new int[subjects.size()];
        for (int rank = 1; rank <= order.size(); rank++) {
            double m = spec.maxMentions() / Math.pow(rank, spec.zipf());
            subjectMentions[order.get(rank - 1)] = (int) Math.max(spec.minMentions(), Math.round(m));
        }
        int[] mentions = new int[facts.size()];
        List<Document> docs = new ArrayList<>();
        for (int s = 0; s < subjects.size(); s++) {
            for (int f : subjects.get(s)) mentions[f] = subjectMentions[s];
            for (int k = 0; k < subjectMentions[s]; k++) {
                docs.add(new Document(article(subjects.get(s), facts, rnd), s, subjects.get(s)));
            }
        }
        List<String> prose = prose(proseDir);
        Collections.shuffle(prose, rnd);
        if (spec.maxProse() > 0 && prose.size() > spec.maxProse()) prose = new ArrayList<>(prose.subList(0, spec.maxProse()));
        int held = (int) Math.round(prose.size() * spec.heldOutProse());
        List<String> heldOut = new ArrayList<>(prose.subList(0, held));
        for (String p : prose.subList(held, prose.size())) {
            for (int k = 0; k < spec.proseRepeat(); k++) docs.add(new Document(p, -1, new int[0]));
        }
        Collections.shuffle(docs, rnd);
        return new Corpus(facts, mentions, subjects, docs, heldOut);
    }

    /**
     * One article about a subject, as an encyclopedia would write it: a lead sentence stating one of
     * its facts, then what the subject is, then its other facts and (now and then) other things known
     * about it, in a varied order and each fact in one of its sentences. The lead is a fact because
     * questions open the same way ("The atomic number of Xenon is"): measured on the demo
     * configuration, articles that opened with "Xenon is a chemical element." taught the model the
     * facts in a context no question has, and it answered far fewer. Every mention of a subject is
     * such an article, so all its facts are learned where the subject is clustered.
     */
    static String article(int[] subject, List<Fact> facts, Random rnd) {
        Fact first = facts.get(subject[0]);
        List<String> sentences = new ArrayList<>();
        for (int f : subject) {
            String[] s = facts.get(f).sentences();
            sentences.add(s[rnd.nextInt(s.length)]);
        }
        Collections.shuffle(sentences, rnd);
        List<String> rest = new ArrayList<>(sentences.subList(1, sentences.size()));
        for (String d : first.details()) if (rnd.nextInt(3) == 0) rest.add(d);
        Collections.shuffle(rest, rnd);
        return sentences.get(0) + " " + first.intro() + (rest.isEmpty() ? "" : " " + String.join(" ", rest));
    }

    /**
     * What clustering sees of a subject: its opening and every sentence that may state one of its
     * facts. The details (codes, weights, official names) are left out: measured on the demo corpus,
     * they pulled countries away from where questions about them route (67% of country probes found
     * their leaf with them, 90% without).
     */
    public static List<String> subjectSentences(int[] subject, List<Fact> facts) {
        List<String> out = new ArrayList<>();
        out.add(facts.get(subject[0]).intro());
        for (int f : subject) out.addAll(List.of(facts.get(f).sentences()));
        return out;
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

    /** The sentences of a paragraph (split after . ; : ! ? followed by space). */
    public static List<String> sentences(String paragraph) {
        List<String> out = new ArrayList<>();
        for (String s : paragraph.split("(?<=[.;:!?])\\s+")) if (!s.isBlank()) out.add(s);
        return out.isEmpty() ? List.of(paragraph) : out;
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
