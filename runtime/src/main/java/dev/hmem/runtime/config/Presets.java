package dev.hmem.runtime.config;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Named anchor shapes used by commands, tests and benchmarks. */
public final class Presets {

    private Presets() {}

    /**
     * The speed reference of the project brief: a 31.5M-parameter Llama (d 512, 8 layers, FFN 1536,
     * 8 heads, vocabulary 8192, tied embeddings), the model llama.cpp was measured on. 1,024 positions (RoPE: no
     * parameters) so the prefill comparison's 512-token prompts fit with their first new token.
     */
    public static ModelConfig bench(int vocab, int bos, int eos) {
        return new ModelConfig(vocab, 512, 1536, 8, 8, 8, 64, 1024, 10000.0, null, 1e-5, true, bos, List.of(eos));
    }

    public static ModelConfig bench() {
        return bench(8192, 8190, 8191);
    }

    /**
     * The paper's anchor shape (d 512, 35 layers, FFN 2048, 8 heads, tied embeddings: about 160M parameters with a
     * 32k vocabulary), for serving at the paper's scale with its bank (`bank create-random --paper`).
     */
    public static ModelConfig paper(int vocab, int bos, int eos) {
        return new ModelConfig(vocab, 512, 2048, 35, 8, 8, 64, 1024, 10000.0, null, 1e-5, true, bos, List.of(eos));
    }

    /**
     * The bench shape with grouped-query attention: 8 query heads sharing 2 key/value heads (as Llama 3 and most recent
     * small Llamas), so the KV cache and its projections are a quarter of the bench's.
     */
    public static ModelConfig gqa(int vocab, int bos, int eos) {
        return new ModelConfig(vocab, 512, 1536, 8, 8, 2, 64, 1024, 500000.0, null, 1e-5, true, bos, List.of(eos));
    }

    /** A wider and deeper anchor between the bench's and the paper's: d 768, 12 layers, FFN 2048, 12 heads (~91M with 8k tokens). */
    public static ModelConfig wide(int vocab, int bos, int eos) {
        return new ModelConfig(vocab, 768, 2048, 12, 12, 12, 64, 1024, 10000.0, null, 1e-5, true, bos, List.of(eos));
    }

    /** Every preset by name, for command-line help. */
    public static Map<String, ModelConfig> all() {
        Map<String, ModelConfig> m = new TreeMap<>();
        m.put("bench", bench());
        m.put("paper", paper(32000, 31998, 31999));
        m.put("gqa", gqa(8192, 8190, 8191));
        m.put("wide", wide(8192, 8190, 8191));
        return m;
    }

    public static ModelConfig byName(String name, int vocab, int bos, int eos) {
        switch (name) {
            case "bench": return bench(vocab, bos, eos);
            case "paper": return paper(vocab, bos, eos);
            case "gqa": return gqa(vocab, bos, eos);
            case "wide": return wide(vocab, bos, eos);
            default: throw new IllegalArgumentException("unknown preset '" + name + "' (known: " + all().keySet() + ")");
        }
    }
}
