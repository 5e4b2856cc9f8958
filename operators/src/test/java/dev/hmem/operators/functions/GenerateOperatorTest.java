package dev.hmem.operators.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.model.TestModels;
import dev.hmem.model.anchor.Anchor;
import dev.hmem.model.tokenizer.TextTokenizer;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class GenerateOperatorTest {

    @TempDir
    static Path tmp;
    static ServingConfig config;
    static TextTokenizer tokenizer;

    @BeforeAll
    static void setUp() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(tmp.resolve("bank"), a.weights(), false, 1);
        }
        config = ServingConfig.defaults(model.toString(), tmp.resolve("bank").toString()).withBatching(4, 16);
        tokenizer = TextTokenizer.load(model);
    }

    static PromptTask task(int i, String path) {
        String text = "Paris is the capital number " + i;
        return new PromptTask("t-0@" + i, "id" + i, text, null, "t", 0, i, tokenizer.encode(text), 6, 0, 0, 1, i,
                new String[0], null, false, Map.of("k", "v" + i), System.currentTimeMillis(), System.currentTimeMillis(),
                path, 0, 0.5);
    }

    static KeyedOneInputStreamOperatorTestHarness<Integer, PromptTask, ResultRecord> harness() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new GenerateOperator(config), PromptTask::routeKey, Types.INT);
    }

    static List<ResultRecord> results(KeyedOneInputStreamOperatorTestHarness<Integer, PromptTask, ResultRecord> h) {
        List<ResultRecord> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r) out.add((ResultRecord) r.getValue());
        }
        return out;
    }

    @Test
    void everyPromptIsAnsweredWithItsPathAndClientMetadata() throws Exception {
        try (var h = harness()) {
            h.open();
            h.processElement(new StreamRecord<>(task(1, "1.2")));
            h.processElement(new StreamRecord<>(task(2, "none")));
            h.processElement(new StreamRecord<>(task(3, "generic")));
            h.endInput();
            List<ResultRecord> out = results(h);
            assertThat(out).extracting(ResultRecord::id).containsExactlyInAnyOrder("id1", "id2", "id3");
            for (ResultRecord r : out) {
                assertThat(r.error()).isNull();
                assertThat(r.tokenIds().length).isBetween(1, 6);
                assertThat(r.client()).containsKey("k");
            }
            assertThat(out).extracting(ResultRecord::memoryPath).containsExactlyInAnyOrder("1.2", "none", "generic");
        }
    }

    @Test
    void promptsInFlightAtACheckpointAreAnsweredAfterRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness()) {
            h.open();
            h.processElement(new StreamRecord<>(task(7, "3.1")));
            h.processElement(new StreamRecord<>(task(8, "0.0")));
            // No mailbox turn has run since: neither result is out, both are in the snapshot.
            snapshot = h.snapshot(1, 1);
            assertThat(results(h)).isEmpty();
        }
        try (var h = harness()) {
            h.initializeState(snapshot);
            h.open();
            h.endInput();
            assertThat(results(h)).extracting(ResultRecord::id).containsExactlyInAnyOrder("id7", "id8");
        }
    }

    @Test
    void aMemoryPathOutsideTheBankBecomesAnErrorResult() throws Exception {
        try (var h = harness()) {
            h.open();
            h.processElement(new StreamRecord<>(task(9, "7.7")));
            h.endInput();
            ResultRecord r = results(h).get(0);
            assertThat(r.finishReason()).isEqualTo("error");
            assertThat(r.error()).contains("memory 7.7 unavailable");
        }
    }
}
