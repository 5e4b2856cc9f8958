package dev.hmem.runtime.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.HfFixture;
import dev.hmem.runtime.ffn.MemoryPlan;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.GeneratorSettings;
import dev.hmem.runtime.generate.SamplingParams;
import dev.hmem.runtime.tensor.WeightFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint as Hugging Face writes it — sharded BF16 safetensors with an index, GQA, llama3 RoPE
 * scaling, an untied head, generation_config.json, a Llama 3-style tokenizer.json with its special
 * tokens at the end of the vocabulary — written by a numpy script that shares no code with hmem,
 * loaded by hmem and decoded on every serving path, against the script's own float64 forward pass
 * and its own BPE.
 */
class HfCheckpointTest {

    @TempDir static Path work;
    static HfFixture fixture;
    static Anchor anchor;

    @BeforeAll
    static void setUp() throws Exception {
        fixture = HfFixture.write(work);
        anchor = Anchor.load(fixture.dir);
    }

    @AfterAll
    static void tearDown() {
        if (anchor != null) anchor.close();
    }

    @Test
    void readsTheConfigAndTheGenerationConfig() throws Exception {
        var c = anchor.config();
        assertThat(c.numKvHeads()).isEqualTo(2);
        assertThat(c.groupSize()).isEqualTo(2);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.ropeScaling()).isNotNull();
        // config.json names <|end_of_text|> alone; generation_config.json adds <|eot_id|>, and
        // Hugging Face's generate stops on the latter's list.
        int bos = fixture.encode("")[0];
        assertThat(c.bosTokenId()).isEqualTo(bos);
        assertThat(c.eosTokenIds()).containsExactly(bos + 1, bos + 2);
        try (Anchor again = Anchor.load(fixture.dir)) {
            assertThat(again.fingerprint()).isEqualTo(anchor.fingerprint());
        }
    }

    @Test
    void tokenizesAsAnIndependentBpeDoes() throws Exception {
        SplittableRandom rnd = new SplittableRandom(4);
        String[] words = {"The", "atomic", "number", "of", "Xenon", "is", "54", "1234567", "euro", "warranty", "basque",
                "it's", "they'll", "software,", "(kind)", "a", "zzqx", "EUS", "--", "France."};
        for (int i = 0; i < 25; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + rnd.nextInt(9);
            for (int w = 0; w < n; w++) {
                if (w > 0) sb.append(rnd.nextInt(6) == 0 ? "  " : " ");
                sb.append(words[rnd.nextInt(words.length)]);
            }
            String text = sb.toString();
            int[] ids = anchor.tokenizer().encode(text);
            assertThat(ids).as(text).containsExactly(fixture.encode(text));
            // Decoding drops the beginning-of-text token and restores the text byte for byte.
            assertThat(anchor.tokenizer().decode(ids)).isEqualTo(text);
        }
    }

    @Test
    void greedyTokensEqualTheNumpyReferenceOnEveryPath() throws Exception {
        for (String prompt : List.of("The atomic number of Xenon is", "Licence texts say that", "Basque is eus")) {
            int[] ids = anchor.tokenizer().encode(prompt);
            HfFixture.Greedy ref = fixture.greedy(ids, 12, null, null);
            // The fixture's weights keep top-1 and top-2 logits apart by far more than float error.
            assertThat(java.util.Arrays.stream(ref.margins()).min().orElseThrow()).isGreaterThan(1e-2);
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray logits = anchor.transformer().forwardFull(m.create(ids, new Shape(1, ids.length)), MemoryPlan.EMPTY);
                float[] all = logits.get(0, ids.length - 1).toFloatArray();
                for (int v = 0; v < all.length; v++) assertThat((double) all[v]).isCloseTo(ref.logits()[v], within(2e-3));
            }
            assertThat(greedy(null, ids)).as("PyTorch decode").containsExactly(ref.tokens());
            for (WeightFormat f : WeightFormat.values()) {
                assertThat(greedy(f, ids)).as("Java decode, " + f).containsExactly(ref.tokens());
            }
        }
    }

    private static int[] greedy(WeightFormat java, int[] prompt) {
        try (BatchGenerator g = new BatchGenerator(anchor.transformer(), anchor.tokenizer()::decode, 2, 128, 128)) {
            if (java != null) {
                g.javaDecode(anchor.transformer().javaDecoder(1, java, GeneratorSettings.DEFAULTS.javaBlockCopyBytes()), 2);
            }
            g.submit(GenerationRequest.plain("q", prompt, SamplingParams.greedy(12).withIgnoreEos(true)));
            Completion c = null;
            while (!g.isIdle()) for (Completion done : g.step()) c = done;
            if (java != null) assertThat(g.javaDecodeSteps()).isPositive();
            return c.tokens();
        }
    }
}
