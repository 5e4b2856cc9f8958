package dev.hmem.training.corpus;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A team's own documents as a corpus, instead of hmem's synthetic facts: a JSONL file (one object per
 * line, {@code text} required, {@code id} and {@code title} optional) or a directory of .txt and .md
 * files (one document each, read recursively in path order). Documents are cut into passages at
 * paragraph and then sentence boundaries (a passage is what one leaf trains on and what clustering
 * places, so a long manual does not land in one leaf whole); a titled document's passages each start
 * with the title, as an article's lead names its subject, so a question naming it routes there. A
 * share of passages is held out for perplexity.
 *
 * <p>Optional probes (JSONL, {@code question} and {@code answer}) become the facts of the evaluation:
 * a probe's exposures are the trained sequences that held whole a passage containing its answer
 * (case-insensitive) — a proxy, since the documents do not say which passage states which answer.
 *
 * <p>A line or file that cannot be read is skipped, named in the log and counted ({@link #skipped});
 * no documents at all is an error.
 */
public final class UserDocuments {

    /** Passages longer than this many characters are cut (about 200 tokens of English). */
    public static final int MAX_PASSAGE_CHARS = 800;
    /** Share of passages held out for perplexity. */
    public static final double HELD_OUT = 0.1;

    private final Corpus corpus;
    private final List<String> skipped;
    private final int documents;

    private UserDocuments(Corpus corpus, List<String> skipped, int documents) {
        this.corpus = corpus;
        this.skipped = skipped;
        this.documents = documents;
    }

    /** The corpus for training: no subjects, every passage a prose document, the probes as facts. */
    public Corpus corpus() {
        return corpus;
    }

    /** What was not read, one line each ("file:line: why"). */
    public List<String> skipped() {
        return skipped;
    }

    public int documentCount() {
        return documents;
    }

    public static UserDocuments load(Path documents, Path probes, long seed, PrintStream log) throws IOException {
        List<String> skipped = new ArrayList<>();
        List<String[]> docs = Files.isDirectory(documents) ? readDirectory(documents, skipped) : readJsonl(documents, skipped);
        if (docs.isEmpty()) {
            throw new IllegalArgumentException(documents + ": no documents with text" + (skipped.isEmpty() ? "" : " (" + skipped.size()
                    + " skipped, first: " + skipped.get(0) + ")"));
        }
        Set<String> unique = new LinkedHashSet<>();
        for (String[] d : docs) unique.addAll(passages(d[1], d[0]));
        List<String> passages = new ArrayList<>(unique);
        Collections.shuffle(passages, new Random(seed));
        int held = passages.size() < 10 ? 0 : (int) Math.round(HELD_OUT * passages.size());
        List<String> heldOut = List.copyOf(passages.subList(0, held));
        List<String> train = List.copyOf(passages.subList(held, passages.size()));

        List<Fact> facts = probes == null ? List.of() : readProbes(probes, skipped);
        int[] mentions = new int[facts.size()];
        List<Document> out = new ArrayList<>();
        for (String p : train) {
            String lower = p.toLowerCase(Locale.ROOT);
            List<Integer> ids = new ArrayList<>();
            for (Fact f : facts) {
                if (lower.contains(f.answer().strip().toLowerCase(Locale.ROOT))) {
                    ids.add(f.id());
                    mentions[f.id()]++;
                }
            }
            out.add(new Document(p, -1, ids.stream().mapToInt(Integer::intValue).toArray()));
        }
        for (String s : skipped.subList(0, Math.min(10, skipped.size()))) log.println("[documents] skipped " + s);
        if (skipped.size() > 10) log.println("[documents] ... and " + (skipped.size() - 10) + " more skipped");
        log.printf(Locale.ROOT, "[documents] %d documents: %d passages, %d for training, %d held out; %d probes%s%n", docs.size(),
                passages.size(), train.size(), held, facts.size(), skipped.isEmpty() ? "" : "; " + skipped.size() + " skipped");
        return new UserDocuments(new Corpus(facts, mentions, List.of(), out, heldOut), List.copyOf(skipped), docs.size());
    }

    /** {title or null, text} per line of a JSONL file. */
    private static List<String[]> readJsonl(Path file, List<String> skipped) throws IOException {
        List<String[]> docs = new ArrayList<>();
        List<String> lines = lines(file, skipped);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line == null || line.isBlank()) continue;
            String where = file.getFileName() + ":" + (i + 1) + ": ";
            try {
                JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                String text = string(o, "text");
                if (text == null || text.isBlank()) {
                    skipped.add(where + "no \"text\" string");
                    continue;
                }
                docs.add(new String[] {string(o, "title"), text});
            } catch (RuntimeException e) {
                skipped.add(where + "not a JSON object with string fields (" + e.getMessage() + ")");
            }
        }
        return docs;
    }

    /**
     * The file's lines, each decoded as UTF-8 on its own: a line that is not UTF-8 is skipped and
     * named (null in the list) instead of failing the file.
     */
    private static List<String> lines(Path file, List<String> skipped) throws IOException {
        byte[] all = Files.readAllBytes(file);
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int i = 0; i <= all.length; i++) {
            if (i == all.length || all[i] == '\n') {
                int to = i > from && all[i - 1] == '\r' ? i - 1 : i;
                if (i == all.length && from == all.length) break;
                try {
                    out.add(StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(all, from, to - from)).toString());
                } catch (CharacterCodingException e) {
                    skipped.add(file.getFileName() + ":" + (out.size() + 1) + ": not UTF-8");
                    out.add(null);
                }
                from = i + 1;
            }
        }
        return out;
    }

    private static List<String[]> readDirectory(Path dir, List<String> skipped) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return name.endsWith(".txt") || name.endsWith(".md");
            }).sorted().toList();
        }
        List<String[]> docs = new ArrayList<>();
        for (Path f : files) {
            try {
                String text = Files.readString(f, StandardCharsets.UTF_8);
                if (text.isBlank()) {
                    skipped.add(dir.relativize(f) + ": empty");
                } else {
                    docs.add(new String[] {null, text});
                }
            } catch (CharacterCodingException e) {
                skipped.add(dir.relativize(f) + ": not UTF-8");
            }
        }
        return docs;
    }

    private static List<Fact> readProbes(Path file, List<String> skipped) throws IOException {
        List<Fact> facts = new ArrayList<>();
        List<String> lines = lines(file, skipped);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line == null || line.isBlank()) continue;
            String where = file.getFileName() + ":" + (i + 1) + ": ";
            try {
                JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                String q = string(o, "question"), a = string(o, "answer");
                if (q == null || q.isBlank() || a == null || a.isBlank()) {
                    skipped.add(where + "a probe needs \"question\" and \"answer\" strings");
                    continue;
                }
                // The answer continues the question after a space, as a probe's answer does.
                facts.add(new Fact(facts.size(), "user", "", " " + a.strip(), "", new String[0], q.strip(), q.strip(), new String[0]));
            } catch (RuntimeException e) {
                skipped.add(where + "not a JSON object with string fields (" + e.getMessage() + ")");
            }
        }
        return facts;
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) return null;
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) throw new IllegalArgumentException("\"" + key + "\" is not a string");
        return e.getAsString();
    }

    /**
     * A document cut into passages of at most {@link #MAX_PASSAGE_CHARS}: paragraphs (blank lines)
     * joined while they fit, a paragraph too long cut at sentence ends (or spaces, for text without
     * them), each passage led by the title when there is one. Whitespace runs become one space.
     */
    static List<String> passages(String text, String title) {
        String lead = title == null || title.isBlank() ? "" : title.strip().replaceAll("\\s+", " ") + "\n";
        int room = Math.max(100, MAX_PASSAGE_CHARS - lead.length());
        List<String> pieces = new ArrayList<>();
        for (String para : text.split("\\n\\s*\\n")) {
            String p = para.strip().replaceAll("\\s+", " ");
            while (p.length() > room) {
                int cut = lastBreak(p, room);
                pieces.add(p.substring(0, cut).strip());
                p = p.substring(cut).strip();
            }
            if (!p.isEmpty()) pieces.add(p);
        }
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String piece : pieces) {
            if (cur.length() > 0 && cur.length() + 1 + piece.length() > room) {
                out.add(cur.toString());
                cur.setLength(0);
            }
            if (cur.length() > 0) cur.append('\n');
            cur.append(piece);
        }
        if (cur.length() > 0) out.add(cur.toString());
        List<String> led = new ArrayList<>();
        for (String p : out) led.add(lead + p);
        return led;
    }

    /** Where to cut {@code s} at or before {@code max}: after the last sentence end, else the last space, else at max. */
    private static int lastBreak(String s, int max) {
        for (int i = max; i > max / 2; i--) {
            char c = s.charAt(i - 1);
            if ((c == '.' || c == '!' || c == '?') && i < s.length() && s.charAt(i) == ' ') return i;
        }
        int space = s.lastIndexOf(' ', max);
        return space > max / 2 ? space : max;
    }

    /** Counts for training.json: what the run was given and what it skipped. */
    public Map<String, Object> stats(Path source) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("documents", source.toAbsolutePath().normalize().toString());
        m.put("document_count", documents);
        m.put("passages", corpus.documents().size() + corpus.heldOut().size());
        m.put("skipped", skipped);
        return m;
    }
}
