package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.results;
import static dev.hmem.operators.functions.GenerateHarness.runMailsUntil;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.operators.control.ServedVersion;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Serving versions on one generate subtask: activate, answer by the routed version alone, release, refuse, block. */
@Timeout(240)
class GenerateOperatorSwapTest {

    @TempDir
    static Path tmp;
    static String model;
    static String bankA;
    static String bankB;
    static String damaged;
    static TextTokenizer tokenizer;
    static ServingConfig config;

    @BeforeAll
    static void setUp() throws Exception {
        model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3).toString();
        try (Anchor a = Anchor.load(Path.of(model))) {
            TestModels.smallBank(tmp.resolve("bankA"), a.weights(), false, 1);
            TestModels.smallBank(tmp.resolve("bankB"), a.weights(), false, 2);
            TestModels.smallBank(tmp.resolve("damaged"), a.weights(), false, 3);
        }
        bankA = tmp.resolve("bankA").toString();
        bankB = tmp.resolve("bankB").toString();
        damaged = tmp.resolve("damaged").toString();
        TestModels.corruptOneBlock(tmp.resolve("damaged"));
        config = ServingConfig.builder(model, bankA).generator(g -> g.maxBatch(4).maxDistinctPaths(16)).build();
        tokenizer = TextTokenizer.load(Path.of(model));
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    static PromptTask task(int i, String path, ServedVersion v) {
        return GenerateHarness.task(tokenizer, "t-0@" + i, "id" + i, "Paris is the capital number " + i, path, 6).withVersion(v);
    }

    static ServedVersion initial() {
        return ServedVersion.initial(bankA, model);
    }

    static ServedVersion version(String label, String bank, long seq) {
        return new ServedVersion(label, bank, model, seq);
    }

    static List<ControlStatus> statuses(TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, ResultRecord> h) {
        List<ControlStatus> out = new ArrayList<>();
        ConcurrentLinkedQueue<StreamRecord<ControlStatus>> side = h.getSideOutput(ControlStatus.TAG);
        if (side != null) for (StreamRecord<ControlStatus> r : side) out.add(r.getValue());
        return out;
    }

    static boolean reported(TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, ResultRecord> h, String requestId, String state) {
        return statuses(h).stream().anyMatch(s -> s.requestId().equals(requestId) && s.state().equals(state));
    }

    /** Each prompt's answer from a subtask that serves {@code bank} alone, by id. */
    static Map<String, ResultRecord> offline(String bank, List<PromptTask> prompts) throws Exception {
        ServingConfig c = config.withModel(model, bank);
        try (var h = GenerateHarness.of(c, 1, 0)) {
            h.open();
            for (PromptTask t : prompts) h.processElement1(new StreamRecord<>(t.withVersion(null)));
            h.endInput1();
            Map<String, ResultRecord> out = new HashMap<>();
            for (ResultRecord r : results(h)) out.put(r.id(), r);
            return out;
        }
    }

    @Test
    void eachPromptIsAnsweredByTheVersionItWasRoutedWithAloneAndTheOldIsReleased() throws Exception {
        ServedVersion v2 = version("v2", bankB, 7);
        List<PromptTask> before = new ArrayList<>(), after = new ArrayList<>();
        for (int i = 0; i < 6; i++) before.add(task(i, i % 2 == 0 ? "1.2" : "3.0", initial()));
        for (int i = 6; i < 12; i++) after.add(task(i, i % 2 == 0 ? "1.2" : "3.0", v2));
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            for (PromptTask t : before) h.processElement1(new StreamRecord<>(t));
            h.processElement2(new StreamRecord<>(ControlCommand.activate(7, "swap-1", "v2", bankB, null)));
            runMailsUntil(h, () -> reported(h, "swap-1", "ready"), 60_000);
            for (PromptTask t : after) h.processElement1(new StreamRecord<>(t));
            runMailsUntil(h, () -> results(h).size() == 12, 60_000);
            // The initial version is released once its last prompt is answered and a newer one is routed.
            runMailsUntil(h, () -> ((GenerateOperator) (Object) h.getOperator()).versionsLoaded() == 1, 10_000);
            List<ResultRecord> out = results(h);
            Map<String, ResultRecord> fromA = offline(bankA, before), fromB = offline(bankB, after);
            for (ResultRecord r : out) {
                boolean old = Integer.parseInt(r.id().substring(2)) < 6;
                assertThat(r.servedVersion()).isEqualTo(old ? "initial" : "v2");
                ResultRecord expected = (old ? fromA : fromB).get(r.id());
                assertThat(r.tokenIds()).as("answer to %s equals its version's own", r.id()).containsExactly(expected.tokenIds());
                assertThat(r.bankVersion()).isEqualTo(expected.bankVersion());
            }
            assertThat(fromA.get("id0").bankVersion()).isNotEqualTo(fromB.get("id6").bankVersion());
            assertThat(statuses(h)).filteredOn(s -> s.requestId().equals("swap-1")).extracting(ControlStatus::state)
                    .containsExactly("ready");
            h.endInput1();
        }
    }

    @Test
    void tenSwapsLeaveOneVersionAndOneEngineThread() throws Exception {
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            for (int k = 1; k <= 10; k++) {
                String bank = k % 2 == 0 ? bankA : bankB;
                ServedVersion v = version("v" + k, bank, k);
                h.processElement2(new StreamRecord<>(ControlCommand.activate(k, "swap-" + k, "v" + k, bank, null)));
                runMailsUntil(h, () -> reported(h, "swap-" + v.seq(), "ready"), 60_000);
                int want = k;
                h.processElement1(new StreamRecord<>(task(100 + k, "2.1", v)));
                runMailsUntil(h, () -> results(h).size() == want, 60_000);
                runMailsUntil(h, () -> ((GenerateOperator) (Object) h.getOperator()).versionsLoaded() == 1, 10_000);
                // The old version's engine thread and block loaders have stopped: only one version's are left.
                runMailsUntil(h, () -> threads(false) == 1 && threads(true) <= config.loaderThreads(), 10_000);
            }
            assertThat(results(h)).extracting(ResultRecord::servedVersion)
                    .containsExactly("v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10");
            assertThat(statuses(h)).filteredOn(s -> s.state().equals("released")).hasSize(9);
            h.endInput1();
        }
    }

    /** Live engine threads, or their block-loader threads. */
    static int threads(boolean loaders) {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("hmem-generate-") && t.getName().endsWith("-loader") == loaders)
                .count();
    }

    @Test
    void aDamagedBankIsRefusedAndTheServingVersionKeepsAnswering() throws Exception {
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            h.processElement2(new StreamRecord<>(ControlCommand.activate(3, "bad", "v-bad", damaged, null)));
            runMailsUntil(h, () -> reported(h, "bad", "refused"), 60_000);
            ControlStatus refusal = statuses(h).stream().filter(s -> s.state().equals("refused")).findFirst().orElseThrow();
            assertThat(refusal.detail()).contains("is corrupt");
            for (int i = 0; i < 4; i++) h.processElement1(new StreamRecord<>(task(i, "0.3", initial())));
            h.endInput1();
            assertThat(results(h)).hasSize(4).allSatisfy(r -> {
                assertThat(r.error()).isNull();
                assertThat(r.servedVersion()).isEqualTo("initial");
            });
            assertThat(((GenerateOperator) (Object) h.getOperator()).versionsLoaded()).isEqualTo(1);
        }
    }

    @Test
    void blockedSubtreesCutPathsUntilUnblockedAndTheBlockListSurvivesARestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            h.processElement2(new StreamRecord<>(ControlCommand.block(1, "b1", ControlCommand.Kind.BLOCK, List.of("1", "2.3", "generic"))));
            h.processElement1(new StreamRecord<>(task(1, "1.2", initial())));
            h.processElement1(new StreamRecord<>(task(2, "2.3", initial())));
            h.processElement1(new StreamRecord<>(task(3, "2.1", initial())));
            h.processElement1(new StreamRecord<>(task(4, "generic", initial())));
            runMailsUntil(h, () -> results(h).size() == 4, 60_000);
            Map<String, ResultRecord> byId = new HashMap<>();
            for (ResultRecord r : results(h)) byId.put(r.id(), r);
            assertThat(byId.get("id1").memoryPath()).isEqualTo("none");
            assertThat(byId.get("id1").blocked()).isEqualTo("subtree 1 blocked; routed 1.2");
            assertThat(byId.get("id2").memoryPath()).isEqualTo("2");
            assertThat(byId.get("id2").blocked()).isEqualTo("subtree 2.3 blocked; routed 2.3");
            assertThat(byId.get("id3").memoryPath()).isEqualTo("2.1");
            assertThat(byId.get("id3").blocked()).isNull();
            assertThat(byId.get("id4").memoryPath()).isEqualTo("none");
            assertThat(reported(h, "b1", "applied")).isTrue();
            snapshot = h.snapshot(1, 1);
        }
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            h.processElement2(new StreamRecord<>(ControlCommand.block(1, "b1", ControlCommand.Kind.BLOCK, List.of("3"))));  // a replay: ignored
            h.processElement1(new StreamRecord<>(task(5, "1.0", initial())));
            h.processElement1(new StreamRecord<>(task(6, "3.3", initial())));
            runMailsUntil(h, () -> results(h).size() == 2, 60_000);
            h.processElement2(new StreamRecord<>(ControlCommand.block(2, "u1", ControlCommand.Kind.UNBLOCK, List.of("1"))));
            h.processElement1(new StreamRecord<>(task(7, "1.0", initial())));
            h.endInput1();
            Map<String, String> paths = new HashMap<>();
            for (ResultRecord r : results(h)) paths.put(r.id(), r.memoryPath());
            assertThat(paths).containsEntry("id5", "none").containsEntry("id6", "3.3").containsEntry("id7", "1.0");
            assertThat(reported(h, "b1", "applied")).as("the replayed command is not applied again").isFalse();
        }
    }

    @Test
    void theActiveVersionSurvivesARestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            h.processElement2(new StreamRecord<>(ControlCommand.activate(4, "s", "v2", bankB, null)));
            runMailsUntil(h, () -> reported(h, "s", "ready"), 60_000);
            snapshot = h.snapshot(1, 1);
        }
        try (var h = GenerateHarness.of(config, 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            // A prompt from an old checkpoint carries no version: it is answered by the restored active one.
            h.processElement1(new StreamRecord<>(task(1, "1.1", null)));
            h.endInput1();
            assertThat(results(h)).singleElement().satisfies(r -> assertThat(r.bankVersion()).contains("seed 2"));
            assertThat(((GenerateOperator) (Object) h.getOperator()).versionsLoaded()).isEqualTo(1);
        }
    }
}
