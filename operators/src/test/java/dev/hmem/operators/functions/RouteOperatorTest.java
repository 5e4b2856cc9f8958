package dev.hmem.operators.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.SharedBanks;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Routing subtasks read the bank's manifest and tree from the one copy their TaskManager holds, beside its generate
 * subtasks, and let it go when they close: a bank of 65,536 leaves is then in memory once per JVM, not once per slot.
 */
@Timeout(120)
class RouteOperatorTest {

    @TempDir
    Path tmp;

    @Test
    void routeAndGenerateSubtasksShareOneOpenBankAndRouteWithIt() throws Exception {
        Path model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
        Path bank = tmp.resolve("bank");
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(bank, a.weights(), false, 4);
        }
        String where = bank.toString();
        ServingConfig config = ServingConfig.builder(model.toString(), where).build();
        try (TextTokenizer tok = TextTokenizer.load(model)) {
            var first = route(config, 0);
            var second = route(config, 1);
            first.open();
            second.open();
            assertThat(SharedBanks.holders(where)).as("two routing subtasks, one open bank").isEqualTo(2);
            try (var generate = GenerateHarness.of(config, 2, 0)) {
                generate.open();
                assertThat(SharedBanks.holders(where)).isEqualTo(3);
                first.processElement1(new StreamRecord<>(forced(tok, "forced", "1.0")));
                first.processElement1(new StreamRecord<>(forced(tok, "bad", "9.9")));
                assertThat(routed(first)).containsExactly("forced 1.0");  // the path outside the tree went to the dead letters
                first.close();
                assertThat(SharedBanks.holders(where)).isEqualTo(2);
            }
            assertThat(SharedBanks.holders(where)).isEqualTo(1);
            second.close();
            assertThat(SharedBanks.holders(where)).as("closed with its last holder").isZero();
        }
    }

    private static TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, PromptTask> route(ServingConfig config, int subtask)
            throws Exception {
        return new TwoInputStreamOperatorTestHarness<>(new RouteOperator(config), GenerateHarness.MAX_PARALLELISM, 2, subtask);
    }

    /** A prompt whose client asked for {@code path}, not yet routed. */
    private static PromptTask forced(TextTokenizer tok, String id, String path) {
        PromptTask t = GenerateHarness.task(tok, "t-0@" + id, id, "Which path?", null, 3);
        return new PromptTask(t.uid(), t.id(), t.text(), t.raw(), t.topic(), t.partition(), t.offset(), t.tokens(), t.maxNewTokens(),
                t.temperature(), t.topK(), t.topP(), t.seed(), t.stop(), path, false, t.client(), t.createdAt(), t.receivedAt(),
                null, 0, t.deadlineAt(), 0, null, null, false, false);
    }

    private static List<String> routed(TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, PromptTask> h) {
        List<String> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof PromptTask t) out.add(t.id() + " " + t.path());
        }
        return out;
    }
}
