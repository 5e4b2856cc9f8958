package dev.hmem.training.tokenizer;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Trains a byte-level BPE vocabulary and writes it as a Hugging Face {@code tokenizer.json}
 * (ByteLevel pre-tokenizer and decoder, BPE model, a template that prepends the
 * beginning-of-text token), which DJL's tokenizers, {@code transformers} and llama.cpp's converter
 * all read.
 *
 * <p>Merges are chosen greedily by pair frequency over the distinct pre-tokens, ties broken by
 * the pair's symbol ids, so the same text always gives the same vocabulary. Pair counts are
 * updated incrementally: each merge only revisits the words that contain the merged pair.
 */
public final class BpeTrainer {

    public static final String BOS = "<|begin_of_text|>";
    public static final String EOS = "<|end_of_text|>";

    /** A trained vocabulary: symbols by id (bytes first, then merges) and the merges in order. */
    public record Vocabulary(List<String> symbols, List<String[]> merges) {
        public int bosId() {
            return symbols.size();
        }

        public int eosId() {
            return symbols.size() + 1;
        }

        /** Vocabulary size including the two special tokens. */
        public int size() {
            return symbols.size() + 2;
        }
    }

    private BpeTrainer() {}

    /**
     * Learns merges until the vocabulary (256 bytes + merges + 2 special tokens) has
     * {@code vocabSize} entries or no pair occurs at least {@code minFrequency} times.
     */
    public static Vocabulary train(Iterable<String> texts, int vocabSize, int minFrequency) {
        if (vocabSize < 258) throw new IllegalArgumentException("vocab size must be >= 258 (bytes + 2 specials), got " + vocabSize);
        Map<String, Integer> wordCounts = new HashMap<>();
        for (String t : texts) {
            for (String w : ByteLevel.pretokenize(t)) wordCounts.merge(w, 1, Integer::sum);
        }
        List<String> symbols = new ArrayList<>(vocabSize);
        Map<String, Integer> idOf = new HashMap<>();
        for (int b = 0; b < 256; b++) {
            String s = String.valueOf(ByteLevel.charOf(b));
            idOf.put(s, symbols.size());
            symbols.add(s);
        }
        // Deterministic word order, whatever the hash map did.
        List<String> words = new ArrayList<>(wordCounts.keySet());
        words.sort(null);
        int[][] seqs = new int[words.size()][];
        int[] counts = new int[words.size()];
        Map<Long, Long> pairCount = new HashMap<>();
        Map<Long, Set<Integer>> pairWords = new HashMap<>();
        for (int w = 0; w < words.size(); w++) {
            String word = words.get(w);
            int[] s = new int[word.length()];
            for (int i = 0; i < s.length; i++) s[i] = idOf.get(String.valueOf(word.charAt(i)));
            seqs[w] = s;
            counts[w] = wordCounts.get(word);
            addPairs(w, s, counts[w], pairCount, pairWords, +1);
        }
        PriorityQueue<long[]> heap = new PriorityQueue<>((a, b) -> a[1] != b[1] ? Long.compare(b[1], a[1]) : Long.compare(a[0], b[0]));
        pairCount.forEach((p, c) -> heap.add(new long[] {p, c}));
        List<String[]> merges = new ArrayList<>();
        while (symbols.size() + 2 < vocabSize && !heap.isEmpty()) {
            long[] top = heap.poll();
            Long current = pairCount.get(top[0]);
            if (current == null || current != top[1]) {
                if (current != null && current > 0) heap.add(new long[] {top[0], current});
                continue;  // stale heap entry
            }
            if (current < minFrequency) break;
            int a = (int) (top[0] >>> 32), b = (int) top[0];
            int merged = symbols.size();
            String sym = symbols.get(a) + symbols.get(b);
            symbols.add(sym);
            merges.add(new String[] {symbols.get(a), symbols.get(b)});
            Set<Long> touched = new HashSet<>();
            for (int w : new ArrayList<>(pairWords.getOrDefault(top[0], Set.of()))) {
                int[] s = seqs[w];
                addPairs(w, s, counts[w], pairCount, pairWords, -1);
                int[] out = new int[s.length];
                int n = 0;
                for (int i = 0; i < s.length; i++) {
                    if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                        out[n++] = merged;
                        i++;
                    } else {
                        out[n++] = s[i];
                    }
                }
                seqs[w] = java.util.Arrays.copyOf(out, n);
                addPairs(w, seqs[w], counts[w], pairCount, pairWords, +1);
                for (int i = 0; i + 1 < seqs[w].length; i++) touched.add(key(seqs[w][i], seqs[w][i + 1]));
            }
            pairCount.remove(top[0]);
            pairWords.remove(top[0]);
            for (long p : touched) {
                Long c = pairCount.get(p);
                if (c != null && c > 0) heap.add(new long[] {p, c});
            }
        }
        return new Vocabulary(symbols, merges);
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xffffffffL);
    }

    private static void addPairs(int w, int[] s, int count, Map<Long, Long> pairCount,
                                 Map<Long, Set<Integer>> pairWords, int sign) {
        for (int i = 0; i + 1 < s.length; i++) {
            long k = key(s[i], s[i + 1]);
            long c = pairCount.getOrDefault(k, 0L) + (long) sign * count;
            if (c <= 0) {
                pairCount.remove(k);
                Set<Integer> ws = pairWords.get(k);
                if (ws != null) ws.remove(w);
            } else {
                pairCount.put(k, c);
                if (sign > 0) pairWords.computeIfAbsent(k, x -> new HashSet<>()).add(w);
            }
        }
    }

    /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
    public static void write(Vocabulary v, Path dir, int modelMaxLength) throws IOException {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("version", "1.0");
        root.put("truncation", null);
        root.put("padding", null);
        root.put("added_tokens", List.of(special(v.bosId(), BOS), special(v.eosId(), EOS)));
        root.put("normalizer", null);
        root.put("pre_tokenizer", byteLevel(false));
        Map<String, Object> post = new LinkedHashMap<>();
        post.put("type", "TemplateProcessing");
        // Ordered maps throughout: Map.of iterates in an order that changes from one JVM to the next, and the
        // file should be the same bytes whenever the same vocabulary is written.
        post.put("single", List.of(piece("SpecialToken", BOS, 0), piece("Sequence", "A", 0)));
        post.put("pair", List.of(piece("SpecialToken", BOS, 0), piece("Sequence", "A", 0), piece("SpecialToken", BOS, 1),
                piece("Sequence", "B", 1)));
        Map<String, Object> bos = new LinkedHashMap<>();
        bos.put("id", BOS);
        bos.put("ids", List.of(v.bosId()));
        bos.put("tokens", List.of(BOS));
        post.put("special_tokens", Map.of(BOS, bos));
        root.put("post_processor", post);
        root.put("decoder", byteLevel(true));
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < v.symbols().size(); i++) vocab.put(v.symbols().get(i), i);
        vocab.put(BOS, v.bosId());
        vocab.put(EOS, v.eosId());
        model.put("vocab", vocab);
        List<String> merges = new ArrayList<>();
        for (String[] m : v.merges()) merges.add(m[0] + " " + m[1]);
        model.put("merges", merges);
        root.put("model", model);
        Gson gson = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), gson.toJson(root));

        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("tokenizer_class", "PreTrainedTokenizerFast");
        cfg.put("bos_token", BOS);
        cfg.put("eos_token", EOS);
        cfg.put("model_max_length", modelMaxLength);
        cfg.put("clean_up_tokenization_spaces", false);
        Files.writeString(dir.resolve("tokenizer_config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(cfg) + "\n");
    }

    /** One element of a TemplateProcessing template: {"SpecialToken" or "Sequence": {"id": .., "type_id": ..}}. */
    private static Map<String, Object> piece(String kind, String id, int typeId) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("type_id", typeId);
        return Map.of(kind, m);
    }

    private static Map<String, Object> special(int id, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("content", content);
        m.put("single_word", false);
        m.put("lstrip", false);
        m.put("rstrip", false);
        m.put("normalized", false);
        m.put("special", true);
        return m;
    }

    private static Map<String, Object> byteLevel(boolean prefixSpace) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "ByteLevel");
        m.put("add_prefix_space", prefixSpace);
        m.put("trim_offsets", true);
        m.put("use_regex", true);
        return m;
    }
}
