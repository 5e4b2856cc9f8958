package dev.hmem.operators.functions;

import dev.hmem.model.config.ModelConfig;
import dev.hmem.model.generate.SamplingParams;
import dev.hmem.model.memory.MemoryPath;
import dev.hmem.model.tokenizer.TextTokenizer;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.operators.records.ResultRecord;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Checks a decoded prompt before any model work: sampling parameters in range, prompt not empty,
 * not longer than the character limit or (tokenized) the context. A prompt that fails becomes a
 * dead letter (for operators) and an error result (for the client waiting on its id).
 */
public final class ValidatePromptFunction extends ProcessFunction<PromptTask, PromptTask> {

    public static final OutputTag<ResultRecord> ERROR_RESULTS = new OutputTag<>("error-results") {};

    private final ServingConfig config;
    private transient TextTokenizer tokenizer;
    private transient int context;
    private transient Counter deadLetters;

    public ValidatePromptFunction(ServingConfig config) {
        this.config = config;
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        Path model = Path.of(config.modelDir());
        tokenizer = TextTokenizer.load(model);
        int max = ModelConfig.load(model).maxPositions();
        context = config.context() > 0 ? Math.min(config.context(), max) : max;
        deadLetters = getRuntimeContext().getMetricGroup().counter("deadLetters");
    }

    @Override
    public void processElement(PromptTask t, Context ctx, Collector<PromptTask> out) {
        String problem = check(t);
        int[] tokens = null;
        if (problem == null) {
            tokens = tokenizer.encode(t.text());
            if (tokens.length >= context) {
                problem = "prompt has " + tokens.length + " tokens but the context holds " + context
                        + " (prompt plus at least one generated token)";
            }
        }
        if (problem != null) {
            deadLetters.inc();
            RawRecord raw = new RawRecord(t.raw(), t.topic(), t.partition(), t.offset(), t.createdAt());
            ctx.output(DecodePromptFunction.DEAD_LETTERS, DeadLetterRecord.of(raw, "validate", problem, t.id()));
            ctx.output(ERROR_RESULTS, ResultRecord.error(t.id(), problem, t.client(), t.createdAt(), ""));
            return;
        }
        out.collect(t.withTokens(tokens));
    }

    /** The first thing wrong with the request, or null. */
    String check(PromptTask t) {
        if (t.id() == null || t.id().isEmpty()) return "request id is empty";
        if (t.text() == null || t.text().isBlank()) return "prompt is empty";
        if (t.text().length() > config.maxPromptChars()) {
            return "prompt has " + t.text().length() + " characters, the limit is " + config.maxPromptChars();
        }
        if (t.maxNewTokens() > config.maxNewTokensLimit()) {
            return "max_new_tokens must be in [1, " + config.maxNewTokensLimit() + "], got " + t.maxNewTokens();
        }
        try {
            new SamplingParams(t.maxNewTokens(), t.temperature(), t.topK(), t.topP(), t.seed(), List.of(t.stop()), false);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        if (t.forcedPath() != null && !t.forcedPath().isEmpty()) {
            if (t.noMemory()) return "memory_path and no_memory are both set; choose one";
            try {
                MemoryPath.parse(t.forcedPath());
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
            if (config.bankDir() == null) return "memory_path given but the job serves no memory bank";
        }
        return null;
    }

    @Override
    public void close() {
        if (tokenizer != null) tokenizer.close();
    }
}
