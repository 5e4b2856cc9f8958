package dev.hmem.training.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.hmem.runtime.config.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A model without routed memory trained to be compared with a memory run: its shape, and the
 * budget that makes the comparison fair. The paper compares models trained on the same data for
 * the same tokens, so "tokens" is the main match; "flops" (the memory run's training FLOPs,
 * {@link TrainingCompute}) stays as an extra, labelled row. {@code stepsFactor} and {@code lr}
 * let a sweep give the baseline its best schedule, chosen on the validation split.
 *
 * <p>Two shapes: {@link Kind#SCALED} widens hidden and FFN by the configuration's
 * {@code denseScale} (a model about twice the anchor); {@link Kind#WIDENED} is the anchor with
 * its FFN widened by exactly the neurons the memory run fetches, always on — the control that
 * separates routed memory from having more neurons.
 *
 * @param lr peak learning rate instead of the configuration's anchor LR, or null
 */
public record DenseBaseline(Kind kind, String match, double stepsFactor, Double lr) {

    public enum Kind { SCALED, WIDENED }

    public DenseBaseline {
        if (!match.equals("tokens") && !match.equals("flops")) {
            throw new IllegalArgumentException("the dense match must be tokens or flops, got " + match);
        }
        if (!(stepsFactor > 0) || stepsFactor > 100) throw new IllegalArgumentException("steps factor must be in (0, 100], got " + stepsFactor);
        if (lr != null && !(lr > 0 && lr < 1)) throw new IllegalArgumentException("peak LR must be in (0, 1), got " + lr);
    }

    /** The baseline's shape for a memory run of configuration {@code c}, with the prepared vocabulary. */
    public ModelConfig shape(TrainConfig c, int vocab, int bos, int eos) {
        int hidden = c.hidden(), ffn = c.ffn();
        if (kind == Kind.SCALED) {
            // Head width must stay even (RoPE rotates pairs): round the width to a multiple of 2 × heads.
            hidden = (int) Math.round(c.hidden() * c.denseScale() / (2.0 * c.heads())) * 2 * c.heads();
            ffn = (int) Math.round(c.ffn() * c.denseScale() / 16) * 16;
        } else {
            ffn = c.ffn() + c.fetchedNeurons();
        }
        return new ModelConfig(vocab, hidden, ffn, c.layers(), c.heads(), c.kvHeads(), hidden / c.heads(), c.context(),
                10000.0, null, 1e-5, true, bos, List.of(eos));
    }

    /**
     * Steps that match the memory run's recorded budget: its tokens ({@code tokensPerStep} a step)
     * or its training FLOPs ({@code flopsPerStep} of the baseline a step), times the factor.
     */
    public int steps(long memoryTokens, double memoryFlops, int tokensPerStep, double flopsPerStep) {
        double base = match.equals("tokens") ? (double) memoryTokens / tokensPerStep : memoryFlops / flopsPerStep;
        long s = Math.round(Math.floor(base * stepsFactor + 1e-9));
        if (s < 1 || s > Integer.MAX_VALUE) throw new IllegalArgumentException("the matched budget gives " + s + " steps");
        return (int) s;
    }

    /** A short label: "dense 2.14x, same tokens", "widened anchor, same tokens, 2x steps, LR 0.006". */
    public String label(double parameterRatio) {
        StringBuilder sb = new StringBuilder(kind == Kind.SCALED
                ? String.format(java.util.Locale.ROOT, "dense %.2f×", parameterRatio) : "widened anchor");
        sb.append(match.equals("tokens") ? ", same tokens" : ", same FLOPs");
        if (stepsFactor != 1) sb.append(", ").append(plain(stepsFactor)).append("× steps");
        if (lr != null) sb.append(", LR ").append(plain(lr));
        return sb.toString();
    }

    private static String plain(double v) {
        return new java.math.BigDecimal(Double.toString(v)).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
    }

    /** The memory run's training.json; refuses a run of another configuration or seed (its corpus would differ). */
    public static JsonObject memoryRun(Path run, TrainConfig c) throws IOException {
        Path stats = run.resolve("training.json");
        if (!Files.isRegularFile(stats)) throw new IllegalArgumentException(run + " is not a finished memory run (no training.json)");
        JsonObject s = JsonParser.parseString(Files.readString(stats)).getAsJsonObject();
        if (!s.has("bank_parameters")) throw new IllegalArgumentException(run + " is not a memory run (it has no bank)");
        String config = s.get("config").getAsString();
        long seed = s.get("seed").getAsLong();
        if (!config.equals(c.name()) || seed != c.seed()) {
            throw new IllegalArgumentException("the memory run " + run + " is configuration '" + config + "' seed " + seed
                    + "; this baseline is '" + c.name() + "' seed " + c.seed() + ": give the same --config and --seed");
        }
        return s;
    }

    /**
     * Refuses a baseline whose corpus or tokenizer is not the memory run's: anything else and the
     * comparison measures the data, not the memory.
     */
    public static void requireSameData(Path memoryRun, Path baselineRun) throws IOException {
        requireSameCorpus(memoryRun, baselineRun);
        String ta = tokenizerDigest(memoryRun.resolve("model")), tb = tokenizerDigest(baselineRun.resolve("model"));
        if (!ta.equals(tb)) {
            throw new IllegalArgumentException("the tokenizer of " + baselineRun + " differs from the memory run " + memoryRun
                    + "'s: train the baseline with --memory-run pointing at it");
        }
    }

    /** Refuses a baseline whose corpus differs from the memory run's. */
    public static void requireSameCorpus(Path memoryRun, Path baselineRun) throws IOException {
        String a = digest(memoryRun.resolve("corpus")), b = digest(baselineRun.resolve("corpus"));
        if (!a.equals(b)) {
            throw new IllegalArgumentException("the corpus of " + baselineRun + " (digest " + b.substring(0, 12) + ") differs from the"
                    + " memory run " + memoryRun + "'s (" + a.substring(0, 12) + "): build both from the same --config, --seed and --prose-dir");
        }
    }

    /** SHA-256 over a tokenizer's files (tokenizer.json, tokenizer_config.json). */
    public static String tokenizerDigest(Path modelDir) throws IOException {
        return digest(List.of(modelDir.resolve("tokenizer.json"), modelDir.resolve("tokenizer_config.json")), modelDir);
    }

    /** SHA-256 over every regular file under {@code dir}: relative names and bytes, in name order. */
    public static String digest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("no directory " + dir);
        try (var s = Files.walk(dir)) {
            return digest(s.filter(Files::isRegularFile).sorted().toList(), dir);
        }
    }

    private static String digest(List<Path> files, Path base) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                if (!Files.isRegularFile(f)) throw new IllegalArgumentException("missing " + f);
                md.update(base.relativize(f).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(Files.readAllBytes(f));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
