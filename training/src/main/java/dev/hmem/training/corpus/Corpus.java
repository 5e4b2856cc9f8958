package dev.hmem.training.corpus;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A built corpus: the facts (with how often each is stated), the subjects (the facts each article
 * states together), the training documents, and prose held out for perplexity. Saved next to the
 * model it trained so evaluation sees exactly it.
 */
public record Corpus(List<Fact> facts, int[] mentions, List<int[]> subjects, List<Document> documents, List<String> heldOut) {

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

    public long factDocuments() {
        return documents.stream().filter(Document::isFact).count();
    }

    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("facts.jsonl"), StandardCharsets.UTF_8)) {
            for (Fact f : facts) {
                w.write(GSON.toJson(new FactLine(f, mentions[f.id()])));
                w.newLine();
            }
        }
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("documents.jsonl"), StandardCharsets.UTF_8)) {
            for (Document d : documents) {
                w.write(GSON.toJson(d));
                w.newLine();
            }
        }
        Files.write(dir.resolve("heldout.jsonl"), heldOut.stream().map(GSON::toJson).toList(), StandardCharsets.UTF_8);
        Files.write(dir.resolve("subjects.jsonl"), subjects.stream().map(GSON::toJson).toList(), StandardCharsets.UTF_8);
    }

    /** The subject each fact belongs to; -1 for a fact of no subject (a user's probe). */
    public int[] subjectOfFact() {
        int[] out = new int[facts.size()];
        java.util.Arrays.fill(out, -1);
        for (int s = 0; s < subjects.size(); s++) for (int f : subjects.get(s)) out[f] = s;
        return out;
    }

    private record FactLine(Fact fact, int mentions) {}

    public static Corpus load(Path dir) throws IOException {
        List<Fact> facts = new ArrayList<>();
        List<Integer> mentions = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(dir.resolve("facts.jsonl"), StandardCharsets.UTF_8)) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                FactLine fl = GSON.fromJson(line, FactLine.class);
                facts.add(fl.fact());
                mentions.add(fl.mentions());
            }
        }
        List<Document> docs = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(dir.resolve("documents.jsonl"), StandardCharsets.UTF_8)) {
            for (String line = r.readLine(); line != null; line = r.readLine()) docs.add(GSON.fromJson(line, Document.class));
        }
        List<String> held = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("heldout.jsonl"), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) held.add(GSON.fromJson(line, String.class));
        }
        List<int[]> subjects = new ArrayList<>();
        Path subjectsFile = dir.resolve("subjects.jsonl");
        if (!Files.exists(subjectsFile)) {
            throw new IOException(dir + " has no subjects.jsonl: a corpus of an older hmem, retrain the model");
        }
        for (String line : Files.readAllLines(subjectsFile, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) subjects.add(GSON.fromJson(line, int[].class));
        }
        return new Corpus(facts, mentions.stream().mapToInt(Integer::intValue).toArray(), subjects, docs, held);
    }
}
