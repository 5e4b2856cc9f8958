package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.deadLetters;
import static dev.hmem.operators.functions.GenerateHarness.results;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generate operator in a world it does not control: a damaged bank (before start, and a file truncated while
 * prompts flow), prompts that arrive past their deadline, and prompts that broke the engine too often.
 */
class GenerateOperatorDegradedTest {

    @TempDir
    static Path tmp;
    static Path model;
    static TextTokenizer tokenizer;

    @BeforeAll
    static void setUp() throws Exception {
        model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
        tokenizer = TextTokenizer.load(model);
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    static Path bank(String name) throws Exception {
        Path dir = tmp.resolve(name);
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(dir, a.weights(), false, 1);
        }
        return dir;
    }

    static ServingConfig config(Path bank) {
        return ServingConfig.builder(model.toString(), bank.toString()).generator(g -> g.maxBatch(4).maxDistinctPaths(16)).build();
    }

    static PromptTask task(int i, String path) {
        return GenerateHarness.task(tokenizer, "t-0@" + i, "id" + i, "Paris is the capital number " + i, path, 6);
    }

    static void flip(Path file, long at) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int v = f.read();
            f.seek(at);
            f.write(v ^ 0x5A);
        }
    }

    @Test
    void aCorruptBlockIsAnsweredFromTheHealthyPrefixSaidInTheResultAndDeadLettered() throws Exception {
        Path dir = bank("corrupt");
        BankManifest.Level leaves;
        try (MemoryBank b = MemoryBank.open(dir)) {
            leaves = b.manifest().level(2);
        }
        flip(dir.resolve(leaves.file()), leaves.offsetOf(MemoryPath.parse("1.2").nodeIndex(4)) + 100);
        try (var h = GenerateHarness.of(config(dir), 1, 0)) {
            h.open();
            for (int i = 0; i < 3; i++) h.processElement1(new StreamRecord<>(task(i, "1.2")));
            h.processElement1(new StreamRecord<>(task(9, "1.3")));
            h.endInput1();
            Map<String, ResultRecord> out = results(h).stream().collect(Collectors.toMap(ResultRecord::id, Function.identity()));
            assertThat(out).hasSize(4);
            for (int i = 0; i < 3; i++) {
                ResultRecord r = out.get("id" + i);
                assertThat(r.error()).isNull();
                assertThat(r.tokenIds()).isNotEmpty();
                assertThat(r.memoryPath()).as("answered with the level-1 block only").isEqualTo("1");
                assertThat(r.memoryFallback()).contains("1.2").contains("corrupt").contains("routed 1.2, answered with 1");
            }
            assertThat(out.get("id9").memoryPath()).isEqualTo("1.3");
            assertThat(out.get("id9").memoryFallback()).isNull();
            List<DeadLetterRecord> dead = deadLetters(h);
            assertThat(dead).hasSize(3).allMatch(d -> d.stage().equals("memory") && d.error().contains("1.2"));
        }
    }

    @Test
    void aLeafFileTruncatedWhilePromptsFlowCostsMemoryNotAnswers() throws Exception {
        Path dir = bank("truncated");
        Path leaves;
        try (MemoryBank b = MemoryBank.open(dir)) {
            leaves = dir.resolve(b.manifest().level(2).file());
        }
        try (var h = GenerateHarness.of(config(dir), 1, 0)) {
            h.open();
            int n = 0;
            for (int round = 0; round < 4; round++) {
                if (round == 2) {
                    try (RandomAccessFile f = new RandomAccessFile(leaves.toFile(), "rw")) {
                        f.setLength(f.length() / 3);
                    }
                }
                for (int j = 0; j < 4; j++, n++) h.processElement1(new StreamRecord<>(task(n, (n % 4) + "." + ((n / 4) % 4))));
            }
            h.endInput1();
            List<ResultRecord> out = results(h);
            assertThat(out).hasSize(n);
            assertThat(out).allMatch(r -> r.error() == null && r.tokenIds().length > 0);
            assertThat(out).anyMatch(r -> r.memoryFallback() != null && r.memoryFallback().contains("truncated"));
        }
    }

    @Test
    void aPromptPastItsDeadlineIsAnsweredOverloadedAtOnce() throws Exception {
        try (var h = GenerateHarness.of(config(bank("deadline")), 1, 0)) {
            h.open();
            PromptTask late = task(1, "0.1");
            late = new PromptTask(late.uid(), late.id(), late.text(), null, "t", 0, 1, late.tokens(), 6, 0, 0, 1, 1, new String[0],
                    null, false, Map.of(), late.createdAt() - 5_000, late.receivedAt(), "0.1", 0, late.createdAt() - 1_000, 0, null, null, false, false);
            h.processElement1(new StreamRecord<>(late));
            h.processElement1(new StreamRecord<>(task(2, "0.1")));
            h.endInput1();
            Map<String, ResultRecord> out = results(h).stream().collect(Collectors.toMap(ResultRecord::id, Function.identity()));
            assertThat(out.get("id1").finishReason()).isEqualTo("overloaded");
            assertThat(out.get("id1").error()).contains("not started within 4000 ms");
            assertThat(out.get("id1").tokenIds()).isEmpty();
            assertThat(out.get("id2").finishReason()).isNotEqualTo("overloaded");
        }
    }

    @Test
    void aPromptThatBrokeTheEngineTooOftenIsAnsweredWithAnErrorNotGeneratedAgain() throws Exception {
        ServingConfig c = config(bank("attempts")).toBuilder().maxEngineFailures(2).build();
        try (var h = GenerateHarness.of(c, 1, 0)) {
            h.open();
            PromptTask once = task(1, "2.2").withEngineFailure();
            PromptTask twice = task(2, "2.2").withEngineFailure().withEngineFailure();
            h.processElement1(new StreamRecord<>(once));
            h.processElement1(new StreamRecord<>(twice));
            h.endInput1();
            Map<String, ResultRecord> out = results(h).stream().collect(Collectors.toMap(ResultRecord::id, Function.identity()));
            assertThat(out.get("id1").error()).as("one failure: generated again").isNull();
            assertThat(out.get("id2").finishReason()).isEqualTo("error");
            assertThat(out.get("id2").error()).contains("failed the whole engine 2 times");
            assertThat(deadLetters(h)).singleElement().satisfies(d -> assertThat(d.requestId()).isEqualTo("id2"));
        }
    }

    /** A full subtask answers the excess at once (its input never waits, so checkpoint barriers never queue behind it). */
    @Test
    void aFullSubtaskShedsTheExcessAsOverloadedAndAnswersTheRest() throws Exception {
        ServingConfig c = config(bank("shed")).toBuilder().maxQueued(3).build();
        try (var h = GenerateHarness.of(c, 1, 0)) {
            h.open();
            // No mailbox turn runs between these: the first three fill the subtask.
            for (int i = 0; i < 7; i++) h.processElement1(new StreamRecord<>(task(i, "2.0")));
            h.endInput1();
            Map<String, ResultRecord> out = results(h).stream().collect(Collectors.toMap(ResultRecord::id, Function.identity()));
            assertThat(out).hasSize(7);
            assertThat(out.values().stream().filter(r -> r.finishReason().equals("overloaded"))).hasSize(4)
                    .allMatch(r -> r.error().contains("already holds 3 prompts"));
            for (int i = 0; i < 3; i++) assertThat(out.get("id" + i).error()).isNull();
        }
        // Waiting instead of shedding: all answered, none overloaded.
        try (var h = GenerateHarness.of(c.toBuilder().whenFull(ServingConfig.WhenFull.WAIT).build(), 1, 0)) {
            h.open();
            for (int i = 0; i < 7; i++) h.processElement1(new StreamRecord<>(task(i, "2.0")));
            h.endInput1();
            assertThat(results(h)).hasSize(7).allMatch(r -> r.error() == null);
        }
    }
}
