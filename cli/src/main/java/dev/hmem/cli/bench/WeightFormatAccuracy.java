package dev.hmem.cli.bench;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonParser;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.anchor.JavaDecoder;
import dev.hmem.runtime.anchor.KvCache;
import dev.hmem.runtime.generate.GeneratorSettings;
import dev.hmem.runtime.tensor.WeightFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What bf16 weights cost in accuracy on a trained model: its held-out text teacher-forced through
 * the Java decode path once with f32 and once with bf16 matrices, token by token — perplexity of
 * each, how often the two pick the same next token, and the largest logit difference. (On the
 * bench's random-weight model every logit is near every other and the comparison says nothing.)
 */
final class WeightFormatAccuracy {

    record Result(int tokens, double pplF32, double pplBf16, double top1Agreement, double maxLogitDiff, double logitScale) {}

    private WeightFormatAccuracy() {}

    /** {@code runDir} a training run (model/ and corpus/heldout.jsonl); up to {@code docs} documents of {@code len} tokens. */
    static Result measure(Path runDir, int docs, int len) throws IOException {
        List<int[]> texts = new ArrayList<>();
        try (Anchor anchor = Anchor.load(runDir.resolve("model"))) {
            for (String line : Files.readAllLines(runDir.resolve("corpus/heldout.jsonl"), StandardCharsets.UTF_8)) {
                int[] ids = anchor.tokenizer().encode(JsonParser.parseString(line).getAsString());
                if (ids.length >= len + 1) texts.add(java.util.Arrays.copyOf(ids, len + 1));
                if (texts.size() == docs) break;
            }
            if (texts.isEmpty()) throw new IllegalStateException("no held-out document of " + (len + 1) + " tokens in " + runDir);
            int n = texts.size(), vocab = anchor.config().vocabSize();
            double nllF32 = 0, nllBf16 = 0, maxDiff = 0, scale = 0;
            long same = 0, count = 0;
            try (JavaDecoder f32 = anchor.transformer().javaDecoder(1, WeightFormat.F32, GeneratorSettings.DEFAULTS.javaBlockCopyBytes());
                 JavaDecoder bf16 = anchor.transformer().javaDecoder(1, WeightFormat.BF16, GeneratorSettings.DEFAULTS.javaBlockCopyBytes());
                 NDManager m = NDManager.newBaseManager();
                 KvCache c32 = new KvCache(anchor.config(), n, len, m);
                 KvCache c16 = new KvCache(anchor.config(), n, len, m)) {
                List<List<dev.hmem.runtime.bank.FfnMemory>> none = new ArrayList<>();
                for (int b = 0; b < n; b++) none.add(List.of());
                for (int p = 0; p < len; p++) {
                    int[] tokens = new int[n], positions = new int[n];
                    for (int b = 0; b < n; b++) {
                        tokens[b] = texts.get(b)[p];
                        positions[b] = p;
                    }
                    float[] a = f32.decode(tokens, positions, none, c32), h = bf16.decode(tokens, positions, none, c16);
                    for (int b = 0; b < n; b++) {
                        int next = texts.get(b)[p + 1], o = b * vocab;
                        nllF32 += nll(a, o, vocab, next);
                        nllBf16 += nll(h, o, vocab, next);
                        if (argmax(a, o, vocab) == argmax(h, o, vocab)) same++;
                        for (int v = 0; v < vocab; v++) {
                            maxDiff = Math.max(maxDiff, Math.abs(a[o + v] - h[o + v]));
                            scale = Math.max(scale, Math.abs(a[o + v]));
                        }
                        count++;
                    }
                }
            }
            return new Result((int) count, Math.exp(nllF32 / count), Math.exp(nllBf16 / count), (double) same / count, maxDiff, scale);
        }
    }

    private static double nll(float[] logits, int off, int vocab, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) max = Math.max(max, logits[off + v]);
        double sum = 0;
        for (int v = 0; v < vocab; v++) sum += Math.exp(logits[off + v] - max);
        return Math.log(sum) + max - logits[off + target];
    }

    private static int argmax(float[] logits, int off, int vocab) {
        int best = 0;
        for (int v = 1; v < vocab; v++) if (logits[off + v] > logits[off + best]) best = v;
        return best;
    }

    static String describe(Path runDir, Result r) {
        return String.format(Locale.ROOT, "bf16 accuracy on a trained model (`%s`, its held-out text teacher-forced through the Java "
                        + "path, %d tokens): perplexity %.3f with f32 weights, %.3f with bf16 (%+.2f%%); the same next token "
                        + "chosen %.2f%% of the time; largest logit difference %.4f (largest logit %.2f).",
                runDir, r.tokens(), r.pplF32(), r.pplBf16(), 100 * (r.pplBf16() / r.pplF32() - 1), 100 * r.top1Agreement(),
                r.maxLogitDiff(), r.logitScale());
    }
}
