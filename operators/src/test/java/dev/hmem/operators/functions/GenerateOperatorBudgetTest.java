package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.results;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A block cache budget smaller than what the queued prompts' paths need: their prefetches wait for room instead of
 * holding memory past the budget, and every prompt is still answered, with its whole path, exactly as with room for all.
 */
@Timeout(180)
class GenerateOperatorBudgetTest {

    @TempDir
    Path tmp;

    @Test
    void promptsWhosePathsExceedTheBudgetWaitForRoomAndAreAnsweredAsWithRoomForAll() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
        Path bank = tmp.resolve("bank");
        try (Anchor a = Anchor.load(model)) {
            // Leaves of 256 neurons: 2 layers x 3 x 256 x 64 floats = 384 KiB each, so 1 MiB holds two of them.
            TestModels.randomBank(bank, a.weights().identity(), 4, 2, new int[] {8, 256}, 0, DType.F32, false, 5);
        }
        long leaf;
        try (MemoryBank b = MemoryBank.open(bank)) {
            leaf = b.loadedBytes(b.blocksFor(dev.hmem.runtime.bank.MemoryPath.parse("0.0")).get(1));
        }
        assertThat(2 * leaf).isLessThanOrEqualTo(1 << 20);
        assertThat(3 * leaf).isGreaterThan(1 << 20);
        try (TextTokenizer tok = TextTokenizer.load(model)) {
            Map<String, String> tight = answers(model, bank, tok, 1), roomy = answers(model, bank, tok, 64);
            assertThat(tight).hasSize(12).isEqualTo(roomy);
        }
    }

    /** Twelve prompts on twelve distinct leaves through a batch of 4, cache budget {@code mb}: answer text and path by id. */
    private static Map<String, String> answers(Path model, Path bank, TextTokenizer tok, long mb) throws Exception {
        ServingConfig config = ServingConfig.builder(model.toString(), bank.toString()).cache(mb, 1)
                .generator(g -> g.maxBatch(4).maxDistinctPaths(16)).build();
        Map<String, String> out = new TreeMap<>();
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            for (int i = 0; i < 12; i++) {
                String path = (i % 4) + "." + (i / 4);
                h.processElement1(new StreamRecord<>(GenerateHarness.task(tok, "t-0@" + i, "id" + i, "The river number " + i, path, 5)));
            }
            h.endInput1();
            List<ResultRecord> rs = results(h);
            for (ResultRecord r : rs) {
                assertThat(r.error()).as(r.id()).isNull();
                out.put(r.id(), r.memoryPath() + " " + Arrays.toString(r.tokenIds()));
            }
        }
        return out;
    }
}
