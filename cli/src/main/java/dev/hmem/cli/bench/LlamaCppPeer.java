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
        int maxBatch = Arrays.stream(batches).max().orElse(1);
        // Every sequence has its own prompt (no -pps), so the KV cache holds batch × (prompt + steps) cells.
        int ctx = Math.max(512, (maxBatch * (promptTokens + steps) + 255) / 256 * 256);
        List<String> cmd = List.of(binary.toString(), "-m", models.get(f).toString(), "-c", Integer.toString(ctx),
                "-npp", Integer.toString(promptTokens), "-ntg", Integer.toString(steps),
                "-npl", Arrays.stream(batches).mapToObj(Integer::toString).collect(Collectors.joining(",")),
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
        Map<Integer, Double> tokS = parse(out);
        for (int b : batches) {
            if (!tokS.containsKey(b)) throw new IOException("llama-batched-bench printed no row for batch " + b + ":\n" + tail(out));
        }
        for (String line : out.split("\n")) {
            if (line.startsWith("build: ")) version = line.trim();
        }
        return tokS;
    }

    String version() {
        return version;
    }

    String command(Format f) {
        return "llama-batched-bench -m " + models.get(f).getFileName() + " -npp " + promptTokens + " -ntg " + steps + " -npl "
                + Arrays.stream(batches).mapToObj(Integer::toString).collect(Collectors.joining(",")) + " -t " + threads + " -fa";
    }

    /** The result rows {@code | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |}. */
    static Map<Integer, Double> parse(String out) {
        Map<Integer, Double> m = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            String[] c = line.trim().split("\\|");
            List<String> cells = new ArrayList<>();
            for (String s : c) if (!s.isBlank()) cells.add(s.trim());
            if (cells.size() != 10 || !cells.get(0).matches("\\d+")) continue;
            m.put(Integer.parseInt(cells.get(2)), Double.parseDouble(cells.get(7)));
        }
        return m;
    }

    private static String tail(String s) {
        String[] l = s.split("\n");
        return String.join("\n", Arrays.copyOfRange(l, Math.max(0, l.length - 20), l.length));
    }
}
