package dev.hmem.training.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UserDocumentsTest {

    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    @Test
    void passagesKeepEveryCharacterInOrderWithinTheLimit() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            StringBuilder sb = new StringBuilder();
            int paras = 1 + rnd.nextInt(8);
            for (int p = 0; p < paras; p++) {
                if (p > 0) sb.append(rnd.nextBoolean() ? "\n\n" : "\n \n\n");
                int sentences = 1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 80 : 8);
                for (int s = 0; s < sentences; s++) {
                    int words = 1 + rnd.nextInt(25);
                    for (int w = 0; w < words; w++) {
                        // Now and then a run with no space at all (a URL, a table row), longer than a passage.
                        int len = rnd.nextInt(50) == 0 ? 900 + rnd.nextInt(900) : 1 + rnd.nextInt(12);
                        for (int c = 0; c < len; c++) sb.append((char) ('a' + rnd.nextInt(26)));
                        sb.append(w == words - 1 ? (rnd.nextBoolean() ? ". " : "! ") : rnd.nextInt(8) == 0 ? "\t " : " ");
                    }
                }
            }
            String title = rnd.nextBoolean() ? null : "Manual " + trial;
            String text = sb.toString();
            List<String> ps = UserDocuments.passages(text, title);
            assertThat(ps).isNotEmpty();
            StringBuilder joined = new StringBuilder();
            for (String p : ps) {
                assertThat(p.length()).isLessThanOrEqualTo(UserDocuments.MAX_PASSAGE_CHARS);
                if (title != null) {
                    assertThat(p).startsWith(title + "\n");
                    p = p.substring(title.length() + 1);
                }
                joined.append(p);
            }
            assertThat(joined.toString().replaceAll("\\s", "")).isEqualTo(text.replaceAll("\\s", ""));
        }
    }

    @Test
    void unreadableLinesAndFilesAreSkippedNamedAndCounted(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("docs.jsonl");
        List<byte[]> lines = List.of(
                "{\"id\": \"a\", \"title\": \"Pump 7\", \"text\": \"The Pump 7 runs at 40 volts. It is blue.\"}".getBytes(StandardCharsets.UTF_8),
                "".getBytes(StandardCharsets.UTF_8),
                "{not json".getBytes(StandardCharsets.UTF_8),
                "{\"title\": \"no text\"}".getBytes(StandardCharsets.UTF_8),
                "{\"text\": 42}".getBytes(StandardCharsets.UTF_8),
                new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'},
                "[\"an array\"]".getBytes(StandardCharsets.UTF_8),
                "{\"text\": \"The Valve 9 opens at 3 bar.\"}\r".getBytes(StandardCharsets.UTF_8));
        var out = new java.io.ByteArrayOutputStream();
        for (byte[] l : lines) {
            out.write(l);
            out.write('\n');
        }
        Files.write(jsonl, out.toByteArray());
        UserDocuments d = UserDocuments.load(jsonl, null, 1, QUIET);
        assertThat(d.documentCount()).isEqualTo(2);
        assertThat(d.skipped()).hasSize(5);
        assertThat(d.skipped()).anyMatch(s -> s.startsWith("docs.jsonl:3:"));
        assertThat(d.skipped()).anyMatch(s -> s.startsWith("docs.jsonl:4:") && s.contains("\"text\""));
        assertThat(d.skipped()).anyMatch(s -> s.startsWith("docs.jsonl:5:"));
        assertThat(d.skipped()).anyMatch(s -> s.startsWith("docs.jsonl:6:") && s.contains("UTF-8"));
        assertThat(d.skipped()).anyMatch(s -> s.startsWith("docs.jsonl:7:"));
        List<String> texts = new ArrayList<>(d.corpus().heldOut());
        d.corpus().documents().forEach(x -> texts.add(x.text()));
        assertThat(texts).containsExactlyInAnyOrder("Pump 7\nThe Pump 7 runs at 40 volts. It is blue.", "The Valve 9 opens at 3 bar.");

        Path tree = Files.createDirectories(dir.resolve("manuals/sub"));
        Files.writeString(dir.resolve("manuals/a.txt"), "First manual.\n\nIt has two paragraphs.");
        Files.writeString(tree.resolve("b.md"), "# Second\n\nMarkdown counts too.");
        Files.writeString(dir.resolve("manuals/c.json"), "{\"text\": \"not a document: wrong extension\"}");
        Files.write(dir.resolve("manuals/d.txt"), new byte[] {'o', 'k', (byte) 0xFF, (byte) 0xFE});
        Files.writeString(dir.resolve("manuals/e.md"), "  \n");
        UserDocuments fromDir = UserDocuments.load(dir.resolve("manuals"), null, 1, QUIET);
        assertThat(fromDir.documentCount()).isEqualTo(2);
        assertThat(fromDir.skipped()).containsExactly("d.txt: not UTF-8", "e.md: empty");

        Files.writeString(dir.resolve("none.jsonl"), "{\"title\": \"x\"}\n\n");
        assertThatThrownBy(() -> UserDocuments.load(dir.resolve("none.jsonl"), null, 1, QUIET))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no documents")
                .hasMessageContaining("none.jsonl:1");
    }

    @Test
    void randomDamageToTheFileCostsOnlyTheLinesItHits(@TempDir Path dir) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) sb.append("{\"id\": \"").append(i).append("\", \"text\": \"Device ").append(i).append(" weighs ")
                .append(i * 3).append(" kilograms and is sold in Ruritania.\"}\n");
        byte[] clean = sb.toString().getBytes(StandardCharsets.UTF_8);
        SplittableRandom rnd = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            byte[] b = clean.clone();
            int hits = 1 + rnd.nextInt(6);
            for (int k = 0; k < hits; k++) b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            Path f = dir.resolve("t" + trial + ".jsonl");
            Files.write(f, b);
            UserDocuments d = UserDocuments.load(f, null, trial, QUIET);
            // Each damaged byte costs at most its own line, or the two it joins when it hits a line end.
            assertThat(d.documentCount()).isGreaterThanOrEqualTo(40 - 2 * hits);
            assertThat(d.documentCount() + d.skipped().size()).isLessThanOrEqualTo(40 + hits);
        }
    }

    @Test
    void probesAttachToThePassagesHoldingTheirAnswerAndHeldOutIsSeeded(@TempDir Path dir) throws Exception {
        StringBuilder docs = new StringBuilder(), probes = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            docs.append("{\"title\": \"Pump ").append(i).append("\", \"text\": \"It runs at ").append(100 + i).append(" volts.\"}\n");
            probes.append("{\"question\": \"Pump ").append(i).append(" runs at\", \"answer\": \"").append(100 + i).append(" Volts\"}\n");
        }
        probes.append("{\"question\": \"no answer\"}\n");
        Files.writeString(dir.resolve("d.jsonl"), docs);
        Files.writeString(dir.resolve("p.jsonl"), probes);
        UserDocuments a = UserDocuments.load(dir.resolve("d.jsonl"), dir.resolve("p.jsonl"), 3, QUIET);
        Corpus c = a.corpus();
        assertThat(c.facts()).hasSize(50);
        assertThat(a.skipped()).singleElement().asString().startsWith("p.jsonl:51:");
        assertThat(c.heldOut()).hasSize(5);
        assertThat(c.documents()).hasSize(45);
        assertThat(c.facts().get(0).answer()).isEqualTo(" 100 Volts");
        for (Document d : c.documents()) {
            // Case-insensitive: "100 Volts" is found in "100 volts."; each passage holds exactly its pump's answer.
            assertThat(d.factIds()).hasSize(1);
            assertThat(d.text()).contains((100 + d.factIds()[0]) + " volts");
        }
        int mentioned = 0;
        for (int m : c.mentions()) mentioned += m;
        assertThat(mentioned).isEqualTo(45);
        UserDocuments again = UserDocuments.load(dir.resolve("d.jsonl"), dir.resolve("p.jsonl"), 3, QUIET);
        UserDocuments other = UserDocuments.load(dir.resolve("d.jsonl"), dir.resolve("p.jsonl"), 4, QUIET);
        assertThat(again.corpus().heldOut()).isEqualTo(c.heldOut());
        assertThat(new HashSet<>(other.corpus().heldOut())).isNotEqualTo(new HashSet<>(c.heldOut()));
        List<String> all = new ArrayList<>(c.heldOut());
        c.documents().forEach(d -> all.add(d.text()));
        assertThat(new HashSet<>(all)).hasSize(50);
    }
}
