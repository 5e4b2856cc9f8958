package dev.hmem.cli.bench;

import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.training.export.GgufExport;
import dev.hmem.training.export.GgufWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * llama.cpp's {@code llama-batched-bench} as the decode bench's peer: the bench's own anchor exported
 * as GGUF (F32 and F16), timed by the peer at the same prompt length, decode steps, batches and
 * thread count, inside each of the bench's rounds. The peer is a tool hmem runs, not part of hmem.
 */
final class LlamaCppPeer {

    /** The formats compared: llama.cpp F32 against hmem's f32 path, F16 against hmem's bf16 weights. */
    enum Format { F32, F16 }

    private final Path binary;
    private final Map<Format, Path> models = new LinkedHashMap<>();
    private final int promptTokens, steps, threads;
    private final int[] batches;
    private String version = "unknown";

    LlamaCppPeer(Path binary, AnchorWeights w, Path dir, int promptTokens, int steps, int[] batches, int threads) throws IOException {
        if (!Files.isExecutable(binary)) {
            throw new IOException(binary + " is not an executable llama-batched-bench (build it with ../shared/peers/llama.cpp/build.sh DIR)");
        }
        this.binary = binary;
        this.promptTokens = promptTokens;
        this.steps = steps;
        this.batches = batches.clone();
        this.threads = threads;
        Files.createDirectories(dir);
        for (Format f : Format.values()) {
            Path file = dir.resolve("bench-" + w.fingerprint + "-" + f.name().toLowerCase() + ".gguf");
            if (!Files.exists(file)) {
                System.err.println("exporting the bench anchor for llama.cpp: " + file);
                GgufExport.write(w, GgufExport.Vocabulary.bytesOnly(w.config), "hmem-bench",
                        f == Format.F32 ? GgufWriter.TensorType.F32 : GgufWriter.TensorType.F16, file);
            }
            models.put(f, file);
        }
    }

    /** One run of the peer: decode tokens/s by batch (llama-batched-bench's S_TG column). */
    Map<Integer, Double> run(Format f) throws IOException, InterruptedException {
        Map<Integer, Double> tokS = new LinkedHashMap<>();
        for (Row r : invoke(f, new int[] {promptTokens}, steps, batches)) tokS.put(r.batch, r.decodeTokS);
        return tokS;
    }

    /**
     * One prompt-processing run: seconds to process {@code batch} prompts of {@code pp} tokens each (the T_PP column:
     * llama-batched-bench decodes all prompts in one batch, which yields every sequence's first token), keyed
     * {@code "pp@batch"}.
     */
    Map<String, Double> prefill(Format f, int[] prompts, int[] prefillBatches) throws IOException, InterruptedException {
        Map<String, Double> seconds = new LinkedHashMap<>();
        for (Row r : invoke(f, prompts, 1, prefillBatches)) seconds.put(r.prompt + "@" + r.batch, r.promptSeconds);
        return seconds;
    }

    String prefillCommand(Format f, int[] prompts, int[] prefillBatches) {
        return "llama-batched-bench -m " + models.get(f).getFileName() + " -npp " + join(prompts) + " -ntg 1 -npl " + join(prefillBatches)
                + " -t " + threads + " -fa";
    }

    /** A result row: prompt tokens, generated tokens, batch, prompt seconds (from S_PP), decode tokens/s (S_TG). */
    record Row(int prompt, int generated, int batch, double promptSeconds, double decodeTokS) {}

    private List<Row> invoke(Format f, int[] prompts, int generated, int[] npl) throws IOException, InterruptedException {
        int maxBatch = Arrays.stream(npl).max().orElse(1), maxPrompt = Arrays.stream(prompts).max().orElse(1);
        // Every sequence has its own prompt (no -pps), so the KV cache holds batch × (prompt + steps) cells.
        int ctx = Math.max(512, (maxBatch * (maxPrompt + generated) + 255) / 256 * 256);
        List<String> cmd = List.of(binary.toString(), "-m", models.get(f).toString(), "-c", Integer.toString(ctx),
                "-npp", join(prompts), "-ntg", Integer.toString(generated), "-npl", join(npl),
                "-t", Integer.toString(threads), "-fa");
        // Output to a file, not a pipe read to its end: a peer that hangs must not hang the bench past the timeout.
        Path log = Files.createTempFile("llama-batched-bench", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(10, TimeUnit.MINUTES);
        if (!done) p.destroyForcibly().waitFor();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        Files.deleteIfExists(log);
        if (!done || p.exitValue() != 0) {
            throw new IOException("llama-batched-bench " + (done ? "failed" : "timed out after 10 minutes") + " ("
                    + String.join(" ", cmd) + "):\n" + tail(out));
        }
        List<Row> rows = rows(out);
        for (int pp : prompts) {
            for (int b : npl) {
                if (rows.stream().noneMatch(r -> r.prompt == pp && r.batch == b)) {
                    throw new IOException("llama-batched-bench printed no row for prompt " + pp + ", batch " + b + ":\n" + tail(out));
                }
            }
        }
        for (String line : out.split("\n")) {
            if (line.startsWith("build: ")) version = line.trim();
        }
        return rows;
    }

    private static String join(int[] v) {
        return Arrays.stream(v).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    String version() {
        return version;
    }

    String command(Format f) {
        return "llama-batched-bench -m " + models.get(f).getFileName() + " -npp " + promptTokens + " -ntg " + steps + " -npl "
                + Arrays.stream(batches).mapToObj(Integer::toString).collect(Collectors.joining(",")) + " -t " + threads + " -fa";
    }

    /** The result rows {@code | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |}. */
    static List<Row> rows(String out) {
        List<Row> rows = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] c = line.trim().split("\\|");
            List<String> cells = new ArrayList<>();
            for (String s : c) if (!s.isBlank()) cells.add(s.trim());
            if (cells.size() != 10 || !cells.get(0).matches("\\d+")) continue;
            int pp = Integer.parseInt(cells.get(0)), b = Integer.parseInt(cells.get(2));
            // T_PP is printed to the millisecond (4% of a 64-token prompt); S_PP = B × PP / T_PP has 2 decimals.
            rows.add(new Row(pp, Integer.parseInt(cells.get(1)), b, (double) pp * b / Double.parseDouble(cells.get(5)),
                    Double.parseDouble(cells.get(7))));
        }
        return rows;
    }

    private static String tail(String s) {
        String[] l = s.split("\n");
        return String.join("\n", Arrays.copyOfRange(l, Math.max(0, l.length - 20), l.length));
    }
}
