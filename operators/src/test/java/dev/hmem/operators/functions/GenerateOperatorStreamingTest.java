package dev.hmem.operators.functions;

import static dev.hmem.operators.functions.GenerateHarness.results;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.PartialResult;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Streaming prompts' partial results: first at the first token, then every N tokens, each the text so far. */
@Timeout(120)
class GenerateOperatorStreamingTest {

    @TempDir
    Path tmp;

    static PromptTask streaming(PromptTask t, boolean stream) {
        return with(t, stream, false);
    }

    static PromptTask with(PromptTask t, boolean stream, boolean ignoreEos) {
        return new PromptTask(t.uid(), t.id(), t.text(), t.raw(), t.topic(), t.partition(), t.offset(), t.tokens(), t.maxNewTokens(),
                t.temperature(), t.topK(), t.topP(), t.seed(), t.stop(), t.forcedPath(), t.noMemory(), t.client(), t.createdAt(),
                t.receivedAt(), t.path(), t.routeMs(), t.deadlineAt(), t.engineFailures(), t.version(), t.blocked(), stream, ignoreEos);
    }

    @Test
    void partialResultsGrowToTheFinalAnswerEveryNTokens() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(tmp.resolve("bank"), a.weights(), false, 1);
        }
        int every = 3;
        ServingConfig config = ServingConfig.builder(model.toString(), tmp.resolve("bank").toString())
                .generator(g -> g.maxBatch(4)).streaming(false, every, 60_000).build();
        try (TextTokenizer tok = TextTokenizer.load(model); var h = GenerateHarness.of(config, 1, 0)) {
            h.open();
            for (int i = 0; i < 4; i++) {
                PromptTask t = GenerateHarness.task(tok, "t@" + i, "id" + i, "The capital number " + i + " is", i % 2 == 0 ? "1.2" : "none", 16);
                h.processElement1(new StreamRecord<>(streaming(t, i < 3)));
            }
            h.endInput1();
            List<PartialResult> parts = new ArrayList<>();
            var side = h.getSideOutput(GenerateOperator.PARTIALS);
            if (side != null) for (StreamRecord<PartialResult> r : side) parts.add(r.getValue());
            assertThat(parts).extracting(PartialResult::id).doesNotContain("id3");  // it did not ask to stream
            for (ResultRecord r : results(h)) {
                if (r.id().equals("id3")) continue;
                List<PartialResult> mine = parts.stream().filter(p -> p.id().equals(r.id())).toList();
                assertThat(mine).as("partials of %s (%d tokens)", r.id(), r.tokenIds().length).isNotEmpty();
                List<Integer> seen = new ArrayList<>();
                for (int k = 0; k < mine.size(); k++) {
                    PartialResult p = mine.get(k);
                    assertThat(p.seq()).isEqualTo(k);
                    for (int id : p.newTokenIds()) seen.add(id);
                    assertThat(p.tokens()).isEqualTo(seen.size());
                    // The first comes after the step that made the first token (a prefill step may make a second).
                    if (k == 0) assertThat(p.tokens()).as("the first partial comes with the first tokens").isBetween(1, 2);
                    else assertThat(p.newTokenIds().length).as("every %d tokens", every).isEqualTo(every);
                    // The text of the tokens so far (a random model's bytes are mostly not UTF-8, so no prefix check here).
                    int[] prefix = java.util.Arrays.copyOf(r.tokenIds(), p.tokens());
                    assertThat(p.text()).isEqualTo(dev.hmem.operators.engine.Streaming.heldBack(tok.decode(prefix)));
                    assertThat(p.emittedAt()).isLessThanOrEqualTo(r.completedAt());
                }
                int[] finalTokens = r.tokenIds();
                for (int k = 0; k < seen.size(); k++) assertThat(seen.get(k)).isEqualTo(finalTokens[k]);
                assertThat(finalTokens.length - seen.size()).as("no more than one interval left for the final result").isLessThanOrEqualTo(every);
            }
        }
    }

    /**
     * ignore_eos: an answer has exactly max_new_tokens tokens even when the model says end of sequence. The model's
     * end-of-sequence id is set to the token it generates first, so without ignore_eos every answer stops at once.
     */
    @Test
    void ignoreEosGeneratesExactlyMaxNewTokens() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("m2")), 5);
        String prompt = "Short answer";
        int first;
        try (TextTokenizer tok = TextTokenizer.load(model);
             var h = GenerateHarness.of(ServingConfig.builder(model.toString(), null).build(), 1, 0)) {
            h.open();
            h.processElement1(new StreamRecord<>(GenerateHarness.task(tok, "f@0", "f", prompt, "none", 1)));
            h.endInput1();
            first = results(h).get(0).tokenIds()[0];
        }
        Path config = model.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceAll("\"eos_token_id\"\\s*:\\s*-?[0-9]+", "\"eos_token_id\": " + first));
        ServingConfig c = ServingConfig.builder(model.toString(), null).generator(g -> g.maxBatch(4)).build();
        try (TextTokenizer tok = TextTokenizer.load(model); var h = GenerateHarness.of(c, 1, 0)) {
            h.open();
            h.processElement1(new StreamRecord<>(with(GenerateHarness.task(tok, "e@0", "eos", prompt, "none", 24), false, false)));
            h.processElement1(new StreamRecord<>(with(GenerateHarness.task(tok, "e@1", "ignore", prompt, "none", 24), false, true)));
            h.endInput1();
            java.util.Map<String, ResultRecord> byId = new java.util.HashMap<>();
            for (ResultRecord r : results(h)) byId.put(r.id(), r);
            assertThat(byId.get("eos").finishReason()).isEqualTo("eos");
            assertThat(byId.get("ignore").tokenIds()).hasSize(24);
            assertThat(byId.get("ignore").finishReason()).isEqualTo("length");
        }
    }
}
