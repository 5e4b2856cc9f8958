package dev.hmem.runtime;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A Hugging Face Llama checkpoint written, tokenized and decoded by {@code fixtures/hf_llama.py}
 * (python3 + numpy, sharing no code with hmem): sharded BF16 safetensors, GQA, llama3 RoPE scaling,
 * an untied head, generation_config.json and a Llama 3-style tokenizer.json.
 */
public final class HfFixture {

    private final Path script;
    public final Path dir;

    private HfFixture(Path script, Path dir) {
        this.script = script;
        this.dir = dir;
    }

    /** Writes the checkpoint into {@code work/checkpoint}. */
    public static HfFixture write(Path work) throws IOException {
        Path script = work.resolve("hf_llama.py");
        try (InputStream in = HfFixture.class.getResourceAsStream("/fixtures/hf_llama.py")) {
            Files.copy(in, script);
        }
        HfFixture f = new HfFixture(script, work.resolve("checkpoint"));
        f.run("write", f.dir.toString());
        return f;
    }

    /** The reference tokenization (with the beginning-of-text token the post-processor adds). */
    public int[] encode(String text) throws IOException {
        return JsonParser.parseString(run("encode", dir.toString(), text)).getAsJsonArray().asList().stream()
                .mapToInt(e -> e.getAsInt()).toArray();
    }

    /** Greedy reference: {@code n} tokens after {@code prompt}, with the blocks of {@code path} of {@code bank} if given. */
    public Greedy greedy(int[] prompt, int n, Path bank, String path) throws IOException {
        List<String> args = new ArrayList<>(List.of("greedy", dir.toString(), Integer.toString(n),
                Arrays.stream(prompt).mapToObj(Integer::toString).collect(Collectors.joining(","))));
        if (bank != null) {
            args.add(bank.toString());
            args.add(path);
        }
        JsonObject o = JsonParser.parseString(run(args.toArray(String[]::new))).getAsJsonObject();
        return new Greedy(ints(o, "tokens"), doubles(o, "margins"), doubles(o, "logits"));
    }

    /** Reference tokens, the top-1 minus top-2 logit at each step, and the first step's logits. */
    public record Greedy(int[] tokens, double[] margins, double[] logits) {}

    private static int[] ints(JsonObject o, String key) {
        return o.getAsJsonArray(key).asList().stream().mapToInt(e -> e.getAsInt()).toArray();
    }

    private static double[] doubles(JsonObject o, String key) {
        return o.getAsJsonArray(key).asList().stream().mapToDouble(e -> e.getAsDouble()).toArray();
    }

    private String run(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("python3 hf_llama.py " + args[0] + " failed (needs python3 with numpy): " + out);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return out.trim();
    }
}
