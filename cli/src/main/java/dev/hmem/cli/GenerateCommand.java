package dev.hmem.cli;

import com.google.gson.GsonBuilder;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.GeneratorSettings;
import dev.hmem.runtime.generate.SamplingParams;
import dev.hmem.runtime.tensor.TorchThreads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Offline generation: one or more prompts, batched together, each with its own memory. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text for one or more prompts (batched together), with or without memory.")
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "anchor directory (Hugging Face layout)") Path model;
    @Option(names = "--bank", description = "memory bank directory; without it the anchor runs alone") Path bank;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = {"-p", "--prompt"}, description = "prompt text (repeat for a batch)") List<String> prompts;
        @Option(names = "--tokens", description = "prompt as token ids, e.g. 1,2,3 (repeat for a batch)") List<String> tokens;
    }

    @ArgGroup(exclusive = true)
    MemoryChoice memory = new MemoryChoice();

    static final class MemoryChoice {
        @Option(names = "--memory-path", description = "force this path (e.g. 3.11.7) instead of routing") String path;
        @Option(names = "--no-memory", description = "plain anchor") boolean none;
        @Option(names = "--generic-memory", description = "the bank's generic memory") boolean generic;
    }

    @Mixin SamplingOptions sampling;
    @Option(names = "--json", description = "print JSON (text, token ids, path, timings)") boolean json;
    @Option(names = "--threads", defaultValue = "0", description = "threads for PyTorch and the Java path (0 = all cores, PyTorch sized per batch)") int threads;
    /** The generator's options, as the job declares them (--max-batch, --context, --java-decode-rows, --weight-format, ...). */
    @Mixin GeneratorSettings.Builder generator;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (threads > 0) TorchThreads.set(threads);
        long t0 = System.nanoTime();
        try (Anchor anchor = Anchor.load(model);
             MemoryBank memBank = bank == null ? null : MemoryBank.open(bank);
             MemoryResolver resolver = new MemoryResolver(memBank, anchor)) {
            long loadMs = (System.nanoTime() - t0) / 1_000_000;
            List<String> texts = new ArrayList<>();
            List<int[]> prompts = new ArrayList<>();
            if (input.prompts != null) {
                texts.addAll(input.prompts);
                for (String t : texts) prompts.add(anchor.tokenizer().encode(t));
            } else {
                // Each --tokens is one prompt; it is routed on its decoded text, as a text prompt is.
                for (String t : input.tokens) {
                    int[] ids = tokenIds(t);
                    prompts.add(ids);
                    texts.add(anchor.tokenizer().decode(ids));
                }
            }
            SamplingParams params = sampling.params();

            long r0 = System.nanoTime();
            List<MemoryPath> routed = resolver.paths(texts, memory.path, memory.none, memory.generic);
            double routeMs = (System.nanoTime() - r0) / 1e6;
            int cores = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
            // All prompts in one batch unless --max-batch says otherwise.
            var given = spec.commandLine().getParseResult();
            if (!given.hasMatchedOption("--max-batch")) generator.maxBatch(Math.max(1, prompts.size()));
            if (!given.hasMatchedOption("--max-paths-per-batch")) generator.maxDistinctPaths(generator.maxBatch());
            GeneratorSettings settings = generator.maxPrefillTokens(4096).threads(cores).autoTorchThreads(threads == 0).build();
            try (BatchGenerator g = settings.open(anchor.transformer(), anchor.tokenizer()::decode)) {
                double memMs = 0;
                for (int i = 0; i < prompts.size(); i++) {
                    long m0 = System.nanoTime();
                    MemoryResolver.Resolved mem = resolver.resolve(routed.get(i), memory.generic);
                    memMs += (System.nanoTime() - m0) / 1e6;
                    g.submit(new GenerationRequest(Integer.toString(i), prompts.get(i), params, mem.blocks(), mem.label()));
                }
                Map<String, Completion> done = new LinkedHashMap<>();
                while (!g.isIdle()) for (Completion c : g.step()) done.put(c.id(), c);
                print(texts, prompts, done, loadMs, routeMs, memMs);
            }
        }
        return 0;
    }

    /** One {@code --tokens} value: comma-separated ids (the generator refuses ids outside the vocabulary). */
    static int[] tokenIds(String arg) {
        String[] parts = arg.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--tokens '" + arg + "': '" + parts[i].strip() + "' is not a token id");
            }
        }
        return ids;
    }

    private void print(List<String> texts, List<int[]> prompts, Map<String, Completion> done, long loadMs,
                       double routeMs, double memMs) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            Completion c = done.get(Integer.toString(i));
            Map<String, Object> m = new LinkedHashMap<>();
            if (input.prompts != null) m.put("prompt", texts.get(i));
            m.put("text", c.text());
            m.put("tokens", c.tokens());
            m.put("prompt_tokens", c.promptTokens());
            m.put("memory_path", c.memoryLabel());
            m.put("finish_reason", c.finishReason().name().toLowerCase(Locale.ROOT));
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("model_load_ms", loadMs);
            t.put("route_ms", round(routeMs));
            t.put("memory_load_ms", round(memMs));
            t.put("time_to_first_token_ms", round(c.firstTokenNanos() / 1e6));
            t.put("time_per_output_token_ms", round(c.timePerOutputTokenNanos() / 1e6));
            t.put("total_ms", round(c.totalNanos() / 1e6));
            m.put("timings", t);
            out.add(m);
        }
        if (json) {
            Object doc = out.size() == 1 ? out.get(0) : out;
            System.out.println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(doc));
            return;
        }
        for (Map<String, Object> m : out) {
            if (m.containsKey("prompt")) System.out.println("> " + m.get("prompt"));
            System.out.println(m.get("text"));
            @SuppressWarnings("unchecked") Map<String, Object> t = (Map<String, Object>) m.get("timings");
            System.out.printf(Locale.ROOT, "[memory %s | %s tokens, %s | first token %s ms, %s ms/token, total %s ms]%n%n",
                    m.get("memory_path"), ((int[]) m.get("tokens")).length, m.get("finish_reason"),
                    t.get("time_to_first_token_ms"), t.get("time_per_output_token_ms"), t.get("total_ms"));
        }
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
