package dev.hmem.operators.functions;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.memory.LocalCopies;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.Failures;
import dev.hmem.operators.records.Printable;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.generate.SamplingParams;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Checks a decoded prompt before any model work: every part within its {@link RecordLimits},
 * sampling parameters in range, prompt not empty and (tokenized) within the context. A prompt that
 * fails — or whose check throws, for whatever reason — becomes a dead letter (for operators) and an
 * error result (for the client waiting on its id, when the id itself is usable).
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
        Path model = LocalCopies.of(config.modelDir());
        tokenizer = TextTokenizer.load(model);
        int max = ModelConfig.load(model).maxPositions();
        context = config.generator().context() > 0 ? Math.min(config.generator().context(), max) : max;
        deadLetters = getRuntimeContext().getMetricGroup().counter("deadLetters");
    }

    @Override
    public void processElement(PromptTask t, Context ctx, Collector<PromptTask> out) {
        String problem;
        int[] tokens = null;
        try {
            problem = check(t);
            if (problem == null) {
                tokens = tokenizer.encode(t.text());
                if (tokens.length >= context) {
                    problem = "prompt has " + tokens.length + " tokens but the context holds " + context
                            + " (prompt plus at least one generated token)";
                }
            }
        } catch (Throwable e) {
            Failures.rethrowIfFatal(e);
            problem = "cannot validate: " + Failures.describe(e);
        }
        if (problem != null) {
            refuse(t, "validate", problem, config.limits(), deadLetters, ctx::output);
            return;
        }
        out.collect(t.withTokens(tokens));
    }

    /**
     * Sends {@code t} to the dead letters and, when its id can be echoed, an error result to the
     * client waiting on it. The client map is echoed only if it is within its limits.
     */
    static void refuse(PromptTask t, String stage, String problem, RecordLimits limits, Counter deadLetters,
                       SideOutput out) {
        deadLetters.inc();
        out.emit(DecodePromptFunction.DEAD_LETTERS, DeadLetterRecord.of(t, stage, problem, limits));
        if (echoable(t.id(), limits)) {
            Map<String, String> client = clientProblem(t.client(), limits) == null ? t.client() : Map.of();
            out.emit(ERROR_RESULTS, ResultRecord.error(t.id(), RecordLimits.error(problem), client, t.createdAt(), ""));
        }
    }

    /** Where refused prompts go: the process function's or the operator's side outputs. */
    @FunctionalInterface
    interface SideOutput {
        <X> void emit(OutputTag<X> tag, X value);
    }

    /** The first thing wrong with the request, or null. */
    String check(PromptTask t) {
        RecordLimits lim = config.limits();
        String p = idProblem(t.id(), lim);
        if (p != null) return p;
        if ((p = clientProblem(t.client(), lim)) != null) return p;
        if (t.text() == null || t.text().isBlank()) return "prompt is empty";
        if (t.text().length() > lim.maxPromptChars()) {
            return "prompt has " + t.text().length() + " characters, the limit is " + lim.maxPromptChars();
        }
        if (t.stop().length > lim.maxStopStrings()) {
            return "stop list has " + t.stop().length + " strings, the limit is " + lim.maxStopStrings();
        }
        for (String s : t.stop()) {
            if (s != null && s.length() > lim.maxStopChars()) {
                return "a stop string has " + s.length() + " characters, the limit is " + lim.maxStopChars();
            }
        }
        if (t.maxNewTokens() < 1 || t.maxNewTokens() > config.maxNewTokensLimit()) {
            return "max_new_tokens must be in [1, " + config.maxNewTokensLimit() + "], got " + t.maxNewTokens();
        }
        try {
            new SamplingParams(t.maxNewTokens(), t.temperature(), t.topK(), t.topP(), t.seed(), List.of(t.stop()), false);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        if (t.forcedPath() != null && !t.forcedPath().isEmpty() && t.forcedPath().isBlank()) {
            return "memory_path is blank: give a path such as 3.11.7, leave it unset to route, or set no_memory";
        }
        if (t.deadlineAt() <= t.createdAt()) return "deadline_ms must be > 0 (unset = the job's default)";
        if (t.forcedPath() != null && !t.forcedPath().isEmpty()) {
            if (t.forcedPath().length() > lim.maxPathChars()) {
                return "memory_path has " + t.forcedPath().length() + " characters, the limit is " + lim.maxPathChars();
            }
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

    /**
     * Whether an error result can carry this id back: it must be there and within its length. An id refused for a
     * control character is still echoed — results are Avro data, matched by the client byte for byte — and only
     * ever logged escaped.
     */
    static boolean echoable(String id, RecordLimits lim) {
        return id != null && !id.isEmpty() && id.length() <= lim.maxIdChars();
    }

    static String idProblem(String id, RecordLimits lim) {
        if (id == null || id.isEmpty()) return "request id is empty";
        if (id.length() > lim.maxIdChars()) return "request id has " + id.length() + " characters, the limit is " + lim.maxIdChars();
        int bad = Printable.firstControl(id);
        if (bad >= 0) {
            return String.format("request id has a control or direction-override character (U+%04X at %d): ids are echoed "
                    + "into logs and tools, where those forge lines or reorder text", id.codePointAt(bad), bad);
        }
        return null;
    }

    static String clientProblem(Map<String, String> client, RecordLimits lim) {
        if (client == null) return null;
        if (client.size() > lim.maxClientEntries()) {
            return "client map has " + client.size() + " entries, the limit is " + lim.maxClientEntries();
        }
        long bytes = 0;
        for (Map.Entry<String, String> e : client.entrySet()) {
            bytes += utf8(e.getKey()) + utf8(e.getValue());
        }
        if (bytes > lim.maxClientBytes()) {
            return "client map has " + bytes + " bytes of keys and values, the limit is " + lim.maxClientBytes();
        }
        return null;
    }

    private static long utf8(String s) {
        return s == null ? 0 : s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    @Override
    public void close() {
        if (tokenizer != null) tokenizer.close();
    }
}
