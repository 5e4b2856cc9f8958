package dev.hmem.training.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.HfFixture;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.ffn.MemoryPlan;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.GeneratorSettings;
import dev.hmem.runtime.generate.SamplingParams;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.runtime.tensor.WeightFormat;
import dev.hmem.training.corpus.CorpusBuilder;
import dev.hmem.training.corpus.UserDocuments;
import dev.hmem.training.eval.EvalSplit;
import dev.hmem.training.eval.Evaluator;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Post-hoc memories (the paper's variant d) for a user's own documents on a Hugging Face checkpoint
 * written by an independent numpy writer (sharded BF16, GQA, llama3 RoPE, untied head, its own
 * tokenizer.json): the checkpoint
 * is left byte for byte as it was, the bank pairs with it as the user serves it, and decoding with the
 * routed memory equals the numpy reference given the same blocks.
 */
class PostHocCheckpointTest {

    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    @Test
    void memoriesForAFrozenHuggingFaceCheckpointServeAsTheReferenceComputes(@TempDir Path dir) throws Exception {
        HfFixture fx = HfFixture.write(dir);
        Map<String, String> before = digests(fx.dir);
        Trainer.Result r;
        // The user's own documents and probes, one line of each unreadable.
        StringBuilder docs = new StringBuilder("{\"text\": 7}\n"), probes = new StringBuilder("{\"question\": \"?\"}\n");
        String[] towns = {"Avalon", "Brigadoon", "Camelot", "Lilliput", "Ruritania", "Xanadu"};
        for (int i = 0; i < 60; i++) {
            String name = "Pump " + (100 + i), town = towns[i % towns.length];
            docs.append(String.format(java.util.Locale.ROOT, "{\"id\": \"d%d\", \"title\": \"%s\", \"text\": \"The %s is made in %s. "
                    + "It runs at %d volts.\\n\\nService it every %d months.\"}%n", i, name, name, town, 10 + i, 2 + i % 9));
            probes.append(String.format(java.util.Locale.ROOT, "{\"question\": \"The %s runs at\", \"answer\": \"%d volts\"}%n", name, 10 + i));
        }
        Files.writeString(dir.resolve("docs.jsonl"), docs);
        Files.writeString(dir.resolve("probes.jsonl"), probes);
        UserDocuments user = UserDocuments.load(dir.resolve("docs.jsonl"), dir.resolve("probes.jsonl"), 3, QUIET);
        try (Trainer t = new Trainer(TrainConfigs.micro(3), QUIET).documents(user, dir.resolve("docs.jsonl"))) {
            r = t.postHoc(fx.dir, dir.resolve("run"), CorpusBuilder.PROSE_DIR);
        }
        var stats = com.google.gson.JsonParser.parseString(Files.readString(dir.resolve("run/training.json"))).getAsJsonObject();
        var userStats = stats.getAsJsonObject("user_documents");
        assertThat(userStats.get("document_count").getAsInt()).isEqualTo(60);
        assertThat(userStats.getAsJsonArray("skipped")).hasSize(2);
        assertThat(stats.getAsJsonArray("fact_leaves")).hasSize(60);
        // The run's corpus is the user's passages, not hmem's synthetic facts or the licence prose.
        assertThat(Files.readString(dir.resolve("run/corpus/documents.jsonl"))).contains("Pump 1").doesNotContain("GNU");
        assertThat(digests(fx.dir)).as("the frozen checkpoint is not rewritten").isEqualTo(before);
        assertThat(r.blockUpdates()).isNotEmpty();
        assertThat(Files.isSymbolicLink(dir.resolve("run/model"))).isTrue();

        String prompt = "The Pump 117 runs at";
        try (Anchor a = Anchor.load(fx.dir); MemoryBank bank = MemoryBank.open(r.bankDir());
             MiniLmEmbedder emb = MiniLmEmbedder.load(0); NDManager m = NDManager.newBaseManager()) {
            // The bank names the checkpoint as stored (BF16), so it pairs with what the user serves.
            bank.checkAnchor(a.weights().identity());
            assertThat(r.fingerprint()).isEqualTo(a.fingerprint());
            MemoryPath path = bank.tree().route(emb.embed(List.of(prompt))[0]);
            List<MemoryBlock> blocks = new ArrayList<>();
            for (BlockId id : bank.blocksFor(path)) blocks.add(bank.load(id, m));
            assertThat(blocks).hasSize(2);
            // Trained: the down projections start at zero and only training moves them.
            assertThat(blocks.get(1).data().get(0, 2).abs().max().getFloat()).isPositive();

            int[] ids = a.tokenizer().encode(prompt);
            assertThat(ids).containsExactly(fx.encode(prompt));
            HfFixture.Greedy ref = fx.greedy(ids, 10, r.bankDir(), path.toString());
            HfFixture.Greedy plain = fx.greedy(ids, 1, null, null);
            float[] logits = a.transformer().forwardFull(m.create(ids, new Shape(1, ids.length)),
                    MemoryPlan.of(List.of(blocks), m)).get(0, ids.length - 1).toFloatArray();
            double moved = 0;
            for (int v = 0; v < logits.length; v++) {
                assertThat((double) logits[v]).isCloseTo(ref.logits()[v], within(2e-3));
                moved = Math.max(moved, Math.abs(ref.logits()[v] - plain.logits()[v]));
            }
            assertThat(moved).as("the memory changes the prediction").isGreaterThan(1e-2);
            // Tokens are compared up to the first near tie of the reference, where float order may flip one.
            int sure = 0;
            while (sure < ref.margins().length && ref.margins()[sure] > 1e-3) sure++;
            assertThat(sure).isGreaterThanOrEqualTo(3);
            for (WeightFormat f : new WeightFormat[] {null, WeightFormat.F32, WeightFormat.BF16}) {
                int[] got = greedy(a, f, ids, blocks, path.toString());
                assertThat(java.util.Arrays.copyOf(got, sure)).as("decode path " + f)
                        .containsExactly(java.util.Arrays.copyOf(ref.tokens(), sure));
            }
        }

        // The evaluator reads the post-hoc run like any other (through the link), on the checkpoint's tokenizer.
        try (Evaluator e = new Evaluator(dir.resolve("run"), EvalSplit.ALL, QUIET)) {
            assertThat(e.probeCount()).isPositive().isLessThanOrEqualTo(60);
            List<Evaluator.ConditionResult> res = e.evaluateMemoryAndAnchor();
            assertThat(res.get(0).perplexity()).isFinite().isGreaterThan(1);
            assertThat(java.util.Arrays.stream(res.get(1).total()).sum()).isEqualTo(e.probeCount());
        }
    }

    private static int[] greedy(Anchor a, WeightFormat java, int[] prompt, List<MemoryBlock> blocks, String path) {
        try (BatchGenerator g = new BatchGenerator(a.transformer(), a.tokenizer()::decode, 2, 128, 128)) {
            if (java != null) g.javaDecode(a.transformer().javaDecoder(1, java, GeneratorSettings.DEFAULTS.javaBlockCopyBytes()), 2);
            List<MemoryBlock> mine = new ArrayList<>();
            for (MemoryBlock b : blocks) mine.add(b.retain());
            g.submit(new GenerationRequest("q", prompt, SamplingParams.greedy(10).withIgnoreEos(true), mine, path));
            Completion c = null;
            while (!g.isIdle()) for (Completion done : g.step()) c = done;
            return c.tokens();
        }
    }

    private static Map<String, String> digests(Path dir) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                m.put(f.getFileName().toString(), HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
            }
        }
        return m;
    }
}
