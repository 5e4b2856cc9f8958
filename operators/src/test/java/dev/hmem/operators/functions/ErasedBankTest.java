package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.results;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.Progress;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BankDeletion;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** An erased subtree: its bytes are zeros on storage, every other block is unchanged, and serving it equals blocking it. */
@Timeout(120)
class ErasedBankTest {

    @TempDir
    Path tmp;

    @Test
    void erasedBlocksAreZeroTheRestIdenticalAndAnswersEqualTheCutPath() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
        try (Anchor a = Anchor.load(model)) {
            strongBank(tmp.resolve("bank"), a.weights().identity());
        }
        Path erased = tmp.resolve("erased");
        try (MemoryBank src = MemoryBank.open(tmp.resolve("bank"))) {
            BankDeletion.write(src, erased, List.of("1", "2.3"), Progress.silent(20));
        }
        try (MemoryBank src = MemoryBank.open(tmp.resolve("bank")); MemoryBank out = MemoryBank.open(erased)) {
            assertThat(out.manifest().description()).endsWith("(erased: 1, 2.3)");
            for (BlockId id : src.allBlocks()) {
                ByteBuffer after = out.readVerified(id);  // checksums rewritten: the copy verifies
                String p = id.toString();
                boolean gone = p.equals("1") || p.startsWith("1.") || p.equals("2.3");
                if (gone) {
                    while (after.hasRemaining()) assertThat(after.get()).as("byte of erased block %s", p).isZero();
                } else {
                    assertThat(after).as("block %s unchanged", p).isEqualTo(src.readVerified(id));
                }
            }
        }
        // Serving: a prompt routed into an erased subtree is answered exactly as the path cut above it.
        TextTokenizer tok = TextTokenizer.load(model);
        try {
            Map<String, String> asErased = new HashMap<>(), asCut = new HashMap<>();
            Map<String, String> cases = Map.of("1.2", "none", "2.3", "2", "3.1", "3.1");
            answers(ServingConfig.builder(model.toString(), erased.toString()).build(), tok, cases, false, asErased);
            answers(ServingConfig.builder(model.toString(), tmp.resolve("bank").toString()).build(), tok, cases, true, asCut);
            assertThat(asErased).isEqualTo(asCut);
            // And the test can fail: the memory of the erased paths does change those answers.
            Map<String, String> whole = new HashMap<>();
            answers(ServingConfig.builder(model.toString(), tmp.resolve("bank").toString()).build(), tok, cases, false, whole);
            assertThat(whole.get("1.2")).isNotEqualTo(asCut.get("1.2"));
            assertThat(whole.get("2.3")).isNotEqualTo(asCut.get("2.3"));
        } finally {
            tok.close();
        }
    }

    /** A k=4, depth-2 bank whose blocks are large enough (std 0.5) to change greedy answers: the test can fail. */
    static void strongBank(Path dir, dev.hmem.runtime.bank.BankManifest.Anchor a) throws Exception {
        var w = new dev.hmem.runtime.bank.BankWriter(dir, a, dev.hmem.runtime.bank.ClusterTree.random(4, 2, 384, 9), "strong");
        for (int level = 1; level <= 2; level++) {
            int r = 8;
            w.writeLevel(level, r, dev.hmem.runtime.io.DType.F32, node -> {
                java.util.SplittableRandom rnd = new java.util.SplittableRandom(node * 31 + r);
                float[] v = new float[a.numHiddenLayers() * 3 * r * a.hiddenSize()];
                for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * 0.5);
                return v;
            }, Progress.silent(16));
        }
        w.finish();
    }

    /** The token ids answered for each routed path of {@code cases}, routed as is or cut to the case's value. */
    static void answers(ServingConfig c, TextTokenizer tok, Map<String, String> cases, boolean cut, Map<String, String> out)
            throws Exception {
        try (var h = GenerateHarness.of(c, 1, 0)) {
            h.open();
            int i = 0;
            for (var e : cases.entrySet()) {
                h.processElement1(new StreamRecord<>(GenerateHarness.task(tok, "t@" + i, e.getKey(), "Paris is the capital of", cut
                        ? e.getValue() : e.getKey(), 8)));
                i++;
            }
            h.endInput1();
            for (ResultRecord r : results(h)) out.put(r.id(), java.util.Arrays.toString(r.tokenIds()));
        }
        assertThat(out).hasSize(cases.size());
    }
}
