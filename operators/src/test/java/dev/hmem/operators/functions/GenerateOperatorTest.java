package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.results;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(180)
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
        config = ServingConfig.builder(model.toString(), tmp.resolve("bank").toString()).generator(g -> g.maxBatch(4).maxDistinctPaths(16)).build();
        tokenizer = TextTokenizer.load(model);
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    static PromptTask task(int i, String path) {
        return GenerateHarness.task(tokenizer, "t-0@" + i, "id" + i, "Paris is the capital number " + i, path, 6);
    }

    @Test
    void everyPromptIsAnsweredWithItsPathAndClientMetadata() throws Exception {
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            h.processElement1(new StreamRecord<>(task(1, "1.2")));
            h.processElement1(new StreamRecord<>(task(2, "none")));
            h.processElement1(new StreamRecord<>(task(3, "generic")));
            h.endInput1();
            List<ResultRecord> out = results(h);
            assertThat(out).extracting(ResultRecord::id).containsExactlyInAnyOrder("id1", "id2", "id3");
            for (ResultRecord r : out) {
                assertThat(r.error()).isNull();
                assertThat(r.tokenIds().length).isBetween(1, 6);
                assertThat(r.client()).containsEntry("k", "v-" + r.id());
            }
            assertThat(out).extracting(ResultRecord::memoryPath).containsExactlyInAnyOrder("1.2", "none", "generic");
        }
    }

    @Test
    void promptsInFlightAtACheckpointAreAnsweredAfterRestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            h.processElement1(new StreamRecord<>(task(7, "3.1")));
            h.processElement1(new StreamRecord<>(task(8, "0.0")));
            // No mailbox turn has run since: neither result is out, both are in the snapshot.
            snapshot = h.snapshot(1, 1);
            assertThat(results(h)).isEmpty();
        }
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            h.endInput1();
            assertThat(results(h)).extracting(ResultRecord::id).containsExactlyInAnyOrder("id7", "id8");
        }
    }

    /** Snapshots of {@code parallelism} subtasks, each holding the prompts {@code perSubtask} of its own, unanswered. */
    static OperatorSubtaskState pendingAt(int parallelism, int perSubtask, List<String> ids) throws Exception {
        OperatorSubtaskState[] parts = new OperatorSubtaskState[parallelism];
        for (int s = 0; s < parallelism; s++) {
            try (var h = GenerateHarness.of(config, parallelism, s)) {
                h.open();
                for (int i = 0; i < perSubtask; i++) {
                    int n = 100 * s + i;
                    ids.add("id" + n);
                    h.processElement1(new StreamRecord<>(task(n, i % 2 == 0 ? "1.1" : "none")));
                }
                parts[s] = h.snapshot(1, 1);
            }
        }
        return AbstractStreamOperatorTestHarness.repackageState(parts);
    }

    @Test
    void pendingPromptsOfTwoSubtasksAreAllAnsweredByOne() throws Exception {
        List<String> ids = new ArrayList<>();
        OperatorSubtaskState two = pendingAt(2, 3, ids);
        OperatorSubtaskState one = AbstractStreamOperatorTestHarness.repartitionOperatorState(
                two, GenerateHarness.MAX_PARALLELISM, 2, 1, 0);
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.initializeState(one);
            h.open();
            h.endInput1();
            assertThat(results(h)).extracting(ResultRecord::id).containsExactlyInAnyOrderElementsOf(ids);
        }
    }

    @Test
    void pendingPromptsOfOneSubtaskAreSharedByTwoAndEachAnsweredOnce() throws Exception {
        List<String> ids = new ArrayList<>();
        OperatorSubtaskState one = pendingAt(1, 6, ids);
        List<String> answered = new ArrayList<>();
        for (int s = 0; s < 2; s++) {
            OperatorSubtaskState part = AbstractStreamOperatorTestHarness.repartitionOperatorState(
                    one, GenerateHarness.MAX_PARALLELISM, 1, 2, s);
            try (var h = GenerateHarness.of(config, 2, s)) {
                h.initializeState(part);
                h.open();
                h.endInput1();
                List<String> mine = results(h).stream().map(ResultRecord::id).toList();
                assertThat(mine).as("subtask %d takes a share", s).isNotEmpty();
                answered.addAll(mine);
            }
        }
        assertThat(answered).containsExactlyInAnyOrderElementsOf(ids);
    }

    @Test
    void aResultEmittedBeforeACheckpointIsNotEmittedAgainAfterRestore() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        // Holds every step that contains the second prompt until released, so it is still pending at the snapshot.
        GenerationEngine.StepProbe hold = uids -> {
            if (uids.contains("t-0@2")) release.await();
        };
        OperatorSubtaskState snapshot;
        try (var h = GenerateHarness.of(config, hold, 1, 0)) {
            h.open();
            h.processElement1(new StreamRecord<>(task(1, "1.2")));
            GenerateHarness.runMailsUntil(h, () -> results(h).size() == 1, 60_000);
            h.processElement1(new StreamRecord<>(task(2, "1.2")));
            snapshot = h.snapshot(1, 1);
            release.countDown();
        }
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            h.endInput1();
            assertThat(results(h)).extracting(ResultRecord::id).containsExactly("id2");
        }
    }

    @Test
    void aDuplicateRequestIdIsAnsweredEachTime() throws Exception {
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            // Two records (distinct offsets) with one id: both answered, identically (same seed, greedy).
            h.processElement1(new StreamRecord<>(GenerateHarness.task(tokenizer, "t-0@1", "same", "Paris is", "1.2", 6)));
            h.processElement1(new StreamRecord<>(GenerateHarness.task(tokenizer, "t-0@2", "same", "Paris is", "1.2", 6)));
            h.endInput1();
            List<ResultRecord> out = results(h);
            assertThat(out).extracting(ResultRecord::id).containsExactly("same", "same");
            assertThat(out.get(0).text()).isEqualTo(out.get(1).text());
        }
    }

    @Test
    void aMemoryPathOutsideTheBankBecomesAnErrorResult() throws Exception {
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            h.processElement1(new StreamRecord<>(task(9, "7.7")));
            h.endInput1();
            ResultRecord r = results(h).get(0);
            assertThat(r.finishReason()).isEqualTo("error");
            assertThat(r.error()).contains("memory 7.7 unavailable");
        }
    }
}
