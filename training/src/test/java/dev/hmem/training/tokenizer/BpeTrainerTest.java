package dev.hmem.training.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {

    @Test
    void trainedTokenizerRoundTripsAnyTextThroughHuggingFaceTokenizers(@TempDir Path dir) throws Exception {
        BpeTrainer.Vocabulary v = BpeTrainer.train(List.of(TestModels.TEXT), 320, 2);
        assertThat(v.size()).isEqualTo(320);
        BpeTrainer.write(v, dir, 128);
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            for (String s : List.of("The atomic number of hydrogen is 1.", "naïve café 🙂 – 東京", "  spaces\tand\nlines ",
                    "unseen words: zyxwvut qqq")) {
                int[] ids = t.encode(s);
                assertThat(ids[0]).as("BOS first").isEqualTo(v.bosId());
                assertThat(t.decode(ids)).isEqualTo(s);
            }
            // Frequent words become single tokens; rare ones fall back to pieces.
            assertThat(t.encode(" the").length).isEqualTo(2);
            assertThat(t.encode(" zyxwvut").length).isGreaterThan(3);
        }
    }

    @Test
    void trainingIsDeterministic(@TempDir Path dir) throws Exception {
        BpeTrainer.write(BpeTrainer.train(List.of(TestModels.TEXT), 300, 2), dir.resolve("a"), 64);
        BpeTrainer.write(BpeTrainer.train(List.of(TestModels.TEXT), 300, 2), dir.resolve("b"), 64);
        assertThat(Files.readString(dir.resolve("a/tokenizer.json"))).isEqualTo(Files.readString(dir.resolve("b/tokenizer.json")));
    }

    /** The runtime's tests use a committed copy of this tokenizer (they may not depend on training): it must stay what training writes. */
    @Test
    void theRuntimeFixtureIsWhatTrainingWrites(@TempDir Path dir) throws Exception {
        BpeTrainer.Vocabulary v = BpeTrainer.train(List.of(TestModels.TEXT), TestModels.TOKENIZER_VOCAB, 2);
        assertThat(new int[] {v.size(), v.bosId(), v.eosId()})
                .containsExactly(TestModels.TOKENIZER_VOCAB, TestModels.TOKENIZER_BOS, TestModels.TOKENIZER_EOS);
        BpeTrainer.write(v, dir.resolve("trained"), 128);
        Path fixture = TestModels.tinyModel(dir.resolve("fixture"), 1);
        for (String f : TestModels.TOKENIZER_FILES) {
            assertThat(Files.readString(fixture.resolve(f))).as(f).isEqualTo(Files.readString(dir.resolve("trained").resolve(f)));
        }
    }
}
