package dev.hmem.operators.functions;

import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.Mail;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import dev.hmem.operators.control.ControlCommand;

/** Fixtures of the generate operator's tests: harnesses, prompts, and reading what came out. */
final class GenerateHarness {

    private GenerateHarness() {}

    static final int MAX_PARALLELISM = 128;

    static TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, ResultRecord> of(ServingConfig config, int parallelism, int subtask)
            throws Exception {
        return of(config, GenerationEngine.StepProbe.NONE, parallelism, subtask);
    }

    static TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, ResultRecord> of(ServingConfig config, GenerationEngine.StepProbe probe,
                                                                        int parallelism, int subtask) throws Exception {
        return new TwoInputStreamOperatorTestHarness<>(new GenerateOperator(config, probe), MAX_PARALLELISM, parallelism, subtask);
    }

    static PromptTask task(TextTokenizer tokenizer, String uid, String id, String text, String path, int maxNew) {
        return new PromptTask(uid, id, text, null, "t", 0, 0, tokenizer.encode(text), maxNew, 0, 0, 1, id.hashCode(),
                new String[0], null, false, Map.of("k", "v-" + id), System.currentTimeMillis(), System.currentTimeMillis(),
                path, 0.5, Long.MAX_VALUE, 0, null, null, false, false);
    }

    static List<ResultRecord> results(TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, ResultRecord> h) {
        List<ResultRecord> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r) out.add((ResultRecord) r.getValue());
        }
        return out;
    }

    static List<DeadLetterRecord> deadLetters(TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, ResultRecord> h) {
        List<DeadLetterRecord> out = new ArrayList<>();
        var side = h.getSideOutput(DecodePromptFunction.DEAD_LETTERS);
        if (side != null) for (StreamRecord<DeadLetterRecord> r : side) out.add(r.getValue());
        return out;
    }

    /** Runs the task's mails (results the engine hands over) until {@code done} or the deadline. */
    static void runMailsUntil(TwoInputStreamOperatorTestHarness<PromptTask, ControlCommand, ResultRecord> h, BooleanSupplier done,
                              long timeoutMillis) throws Exception {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for the operator");
            Optional<Mail> m = h.getTaskMailbox().tryTake(TaskMailbox.MIN_PRIORITY);
            if (m.isPresent()) m.get().run();
            else Thread.sleep(5);
        }
    }
}
