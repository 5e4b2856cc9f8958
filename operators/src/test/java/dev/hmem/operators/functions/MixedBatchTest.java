package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.results;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A row without memory ("none", as a blocked prompt is answered) batched with rows that have strong memories is
 * answered exactly as when it runs alone: no memory leaks across rows of a batch.
 */
@Timeout(120)
class MixedBatchTest {

    @TempDir
    Path tmp;

    @Test
    void rowsWithoutMemoryAreUntouchedByTheirBatchMates() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
        try (Anchor a = Anchor.load(model)) {
            ErasedBankTest.strongBank(tmp.resolve("bank"), a.weights().identity());
        }
        ServingConfig batched = ServingConfig.builder(model.toString(), tmp.resolve("bank").toString())
                .generator(g -> g.maxBatch(8).maxDistinctPaths(8)).build();
        List<String> paths = List.of("none", "1.2", "none", "3.1", "2.0", "none", "0.3", "none");
        Map<String, String> together = new HashMap<>(), alone = new HashMap<>();
        try (TextTokenizer tok = TextTokenizer.load(model)) {
            try (var h = GenerateHarness.of(batched, 1, 0)) {
                h.open();
                for (int i = 0; i < paths.size(); i++) {
                    h.processElement1(new StreamRecord<>(GenerateHarness.task(tok, "t@" + i, "id" + i, "The capital number " + i + " is",
                            paths.get(i), 10)));
                }
                h.endInput1();
                for (ResultRecord r : results(h)) together.put(r.id(), java.util.Arrays.toString(r.tokenIds()));
            }
            for (int i = 0; i < paths.size(); i++) {
                try (var h = GenerateHarness.of(batched, 1, 0)) {
                    h.open();
                    h.processElement1(new StreamRecord<>(GenerateHarness.task(tok, "t@" + i, "id" + i, "The capital number " + i + " is",
                            paths.get(i), 10)));
                    h.endInput1();
                    for (ResultRecord r : results(h)) alone.put(r.id(), java.util.Arrays.toString(r.tokenIds()));
                }
            }
        }
        for (int i = 0; i < paths.size(); i++) {
            if (paths.get(i).equals("none")) {
                assertThat(together.get("id" + i)).as("row %d without memory, batched vs alone", i).isEqualTo(alone.get("id" + i));
            }
        }
    }
}
