package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.deadLetters;
import static dev.hmem.operators.functions.GenerateHarness.results;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Faults injected into the engine: a poisoned prompt, a passing failure, a broken engine, and cancellation mid-step. */
@Timeout(300)
class GenerateOperatorFaultTest {

    @TempDir
    static Path tmp;
    static ServingConfig config;
    static TextTokenizer tokenizer;
    static final String[] PATHS = {"1.2", "none", "0.3", "generic", "1.2", "2.1"};

    @BeforeAll
    static void setUp() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 5);
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(tmp.resolve("bank"), a.weights(), false, 2);
        }
        config = ServingConfig.builder(model.toString(), tmp.resolve("bank").toString()).generator(g -> g.maxBatch(4).maxDistinctPaths(16)).build();
        tokenizer = TextTokenizer.load(model);
    }

    @AfterAll
    static void tearDown() {
        tokenizer.close();
    }

    static List<PromptTask> prompts(int n) {
        List<PromptTask> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(GenerateHarness.task(tokenizer, "t-0@" + i, "q" + i, "The capital of country " + i + " is",
                    PATHS[i % PATHS.length], 3 + i % 5));
        }
        return out;
    }

    static Map<String, ResultRecord> run(GenerationEngine.StepProbe probe, List<PromptTask> prompts, List<DeadLetterRecord> dead)
            throws Exception {
        try (var h = GenerateHarness.of(config, probe, 1, 0)) {
            h.open();
            for (PromptTask t : prompts) h.processElement1(new StreamRecord<>(t));
            h.endInput1();
            Map<String, ResultRecord> out = new HashMap<>();
            for (ResultRecord r : results(h)) assertThat(out.put(r.id(), r)).as("answered twice: %s", r.id()).isNull();
            dead.addAll(deadLetters(h));
            return out;
        }
    }

    @Test
    void aPromptThatBreaksGenerationIsIsolatedAndTheOthersAreAnsweredAsWithoutTheFault() throws Exception {
        List<PromptTask> prompts = prompts(14);
        List<DeadLetterRecord> none = new ArrayList<>();
        Map<String, ResultRecord> clean = run(GenerationEngine.StepProbe.NONE, prompts, none);
        assertThat(none).isEmpty();

        // Generation fails whenever the chosen prompt is in the batch.
        AtomicInteger failures = new AtomicInteger();
        GenerationEngine.StepProbe poison = uids -> {
            if (uids.contains("t-0@9")) {
                failures.incrementAndGet();
                throw new IllegalStateException("injected fault for t-0@9");
            }
        };
        List<DeadLetterRecord> dead = new ArrayList<>();
        Map<String, ResultRecord> faulty = run(poison, prompts, dead);

        assertThat(faulty.keySet()).isEqualTo(clean.keySet());
        ResultRecord culprit = faulty.get("q9");
        assertThat(culprit.finishReason()).isEqualTo("error");
        assertThat(culprit.error()).contains("generation failed on this prompt").contains("injected fault for t-0@9");
        assertThat(culprit.client()).containsEntry("k", "v-q9");
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).requestId()).isEqualTo("q9");
        assertThat(dead.get(0).stage()).isEqualTo("generate");
        assertThat(dead.get(0).error()).contains("injected fault");
        assertThat(dead.get(0).rawSize()).isEqualTo(-1);
        for (String id : clean.keySet()) {
            if (id.equals("q9")) continue;
            assertThat(faulty.get(id).error()).as(id).isNull();
            assertThat(faulty.get(id).tokenIds()).as(id).containsExactly(clean.get(id).tokenIds());
            assertThat(faulty.get(id).text()).as(id).isEqualTo(clean.get(id).text());
        }
        // The original step, one retry of the whole batch, then bisection down to the prompt alone.
        assertThat(failures.get()).isBetween(3, 8);
    }

    @Test
    void aFailureThatDoesNotRecurIsRetriedAndPoisonsNobody() throws Exception {
        List<PromptTask> prompts = prompts(8);
        AtomicBoolean failed = new AtomicBoolean();
        GenerationEngine.StepProbe once = uids -> {
            if (uids.size() >= 2 && failed.compareAndSet(false, true)) throw new IllegalStateException("passing fault");
        };
        List<DeadLetterRecord> dead = new ArrayList<>();
        Map<String, ResultRecord> out = run(once, prompts, dead);
        assertThat(failed.get()).isTrue();
        assertThat(dead).isEmpty();
        assertThat(out).hasSize(8);
        assertThat(out.values()).allMatch(r -> r.error() == null);
    }

    @Test
    void anEngineThatFailsEvenTheCanaryFailsTheTaskSayingWhy() throws Exception {
        GenerationEngine.StepProbe broken = uids -> {
            throw new IllegalStateException("native library broken");
        };
        var h = GenerateHarness.of(config, broken, 1, 0);
        h.open();
        h.processElement1(new StreamRecord<>(prompts(1).get(0)));
        assertThatThrownBy(h::endInput1).hasMessageContaining("generation engine failed")
                .hasMessageContaining("canary").rootCause().hasMessageContaining("native library broken");
        // A failed task is closed without being finished.
        h.getOperator().close();
    }

    /** A model whose batch-64 prefill takes a noticeable time (about a second here): d 256, 4 layers, context 256. */
    static ServingConfig mediumModel() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("medium"));
        Path tiny = tmp.resolve("model");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) Files.copy(tiny.resolve(f), dir.resolve(f));
        ModelConfig t = ModelConfig.load(tiny);
        ModelConfig c = new ModelConfig(t.vocabSize(), 256, 768, 4, 4, 2, 64, 256, 10000.0, null, 1e-5, true,
                t.bosTokenId(), t.eosTokenIds());
        try (AnchorWeights w = AnchorWeights.random(c, 11)) {
            w.save(dir, DType.F32);
        }
        return ServingConfig.builder(dir.toString(), null).generator(g -> g.maxBatch(64).maxDistinctPaths(64)).cache(0, 0).build();
    }

    @Test
    void cancellingDuringABatch64StepTwentyTimesNeverFreesWhatTheEngineUsesOrLeaksThreads() throws Exception {
        ServingConfig medium = mediumModel();
        String text = "The atomic number of hydrogen is 1. The atomic number of helium is 2. ".repeat(1);
        for (int round = 0; round < 20; round++) {
            CountDownLatch stepping = new CountDownLatch(1);
            AtomicInteger bigSteps = new AtomicInteger();
            GenerationEngine.StepProbe signal = uids -> {
                if (uids.size() == 64) {
                    bigSteps.incrementAndGet();
                    stepping.countDown();
                }
            };
            var h = GenerateHarness.of(medium, signal, 1, 0);
            h.open();
            for (int i = 0; i < 64; i++) {
                h.processElement1(new StreamRecord<>(GenerateHarness.task(tokenizer, "t-0@" + i, "c" + i, text, "none", 20)));
            }
            assertThat(stepping.await(60, TimeUnit.SECONDS)).as("round %d: a batch-64 step started", round).isTrue();
            // Cancel as Flink does: close without finish, the closing thread interrupted while the
            // engine is inside the step.
            Thread.currentThread().interrupt();
            h.getOperator().close();
            assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
            assertThat(engineThreads()).as("round %d: engine threads after close", round).isEmpty();
        }
    }

    static List<String> engineThreads() {
        List<String> out = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().startsWith("hmem-generate-")) out.add(t.getName());
        }
        return out;
    }
}
