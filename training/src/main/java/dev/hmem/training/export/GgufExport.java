package dev.hmem.training.export;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.training.tokenizer.BpeTrainer;
import dev.hmem.training.tokenizer.ByteLevel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An hmem anchor as a GGUF file for llama.cpp's "llama" architecture: the anchor alone (memory
 * blocks are not part of a Llama), so users can run it in llama.cpp-based tools and the decode
 * bench can time llama.cpp on the very weights hmem serves.
 *
 * <p>Two layout facts of llama.cpp's Llama carry over from its documented conversion: its rotary
 * embedding pairs adjacent dimensions (2i, 2i+1) while Hugging Face's pairs i with i + hd/2, so the
 * rows of the q and k projections are permuted within each head to give the same attention; and
 * a tied LM head is expressed by leaving {@code output.weight} out (llama.cpp then uses the token
 * embedding). Norm weights stay F32 in every file type, as llama.cpp's own converter keeps them.
 */
public final class GgufExport {

    private GgufExport() {}

    /** A byte-level BPE vocabulary as GGUF's "gpt2" tokenizer model describes it. */
    public record Vocabulary(List<String> tokens, int[] types, List<String> merges, int bos, int eos, boolean addBos) {
        static final int NORMAL = 1, CONTROL = 3;

        /** The tokenizer.json of a model directory (Hugging Face's format, as hmem writes it). */
        public static Vocabulary of(Path modelDir, ModelConfig c) throws IOException {
            Path file = modelDir.resolve("tokenizer.json");
            if (!Files.exists(file)) throw new IOException(file + " does not exist: a GGUF file carries its tokenizer");
            JsonObject t = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
            JsonObject model = t.getAsJsonObject("model");
            if (model == null || !"BPE".equals(model.get("type").getAsString())) {
                throw new IOException(file + ": only byte-level BPE tokenizers are exported (GGUF tokenizer model gpt2)");
            }
            String[] tokens = new String[c.vocabSize()];
            for (Map.Entry<String, JsonElement> e : model.getAsJsonObject("vocab").entrySet()) put(tokens, e.getValue().getAsInt(), e.getKey(), file);
            Set<Integer> special = new HashSet<>();
            JsonArray added = t.getAsJsonArray("added_tokens");
            if (added != null) {
                for (JsonElement e : added) {
                    JsonObject a = e.getAsJsonObject();
                    int id = a.get("id").getAsInt();
                    put(tokens, id, a.get("content").getAsString(), file);
                    if (a.has("special") && a.get("special").getAsBoolean()) special.add(id);
                }
            }
            int[] types = new int[tokens.length];
            for (int i = 0; i < tokens.length; i++) {
                // The model's embedding may be larger than the tokenizer (padded vocabularies): unused ids get a
                // placeholder that no text can produce.
                if (tokens[i] == null) tokens[i] = "[PAD" + i + "]";
                types[i] = special.contains(i) ? CONTROL : NORMAL;
            }
            List<String> merges = new ArrayList<>();
            for (JsonElement m : model.getAsJsonArray("merges")) {
                // Older tokenizer.json files write a merge as "a b", newer ones as ["a", "b"].
                merges.add(m.isJsonArray() ? m.getAsJsonArray().get(0).getAsString() + " " + m.getAsJsonArray().get(1).getAsString()
                        : m.getAsString());
            }
            JsonElement post = t.get("post_processor");
            boolean addBos = post != null && post.toString().contains("\"SpecialToken\"") && post.toString().contains(BpeTrainer.BOS);
            int eos = c.eosTokenIds().isEmpty() ? c.bosTokenId() : c.eosTokenIds().get(0);
            return new Vocabulary(List.of(tokens), types, merges, c.bosTokenId(), eos, addBos);
        }

        private static void put(String[] tokens, int id, String token, Path file) throws IOException {
            if (id < 0 || id >= tokens.length) {
                throw new IOException(file + ": token id " + id + " ('" + token + "') outside the model's vocabulary of " + tokens.length);
            }
            tokens[id] = token;
        }

        /**
         * A vocabulary for a random-weight model that has no tokenizer (the decode bench's): the 256
         * byte symbols, the two control tokens and distinct fillers, no merges.
         */
        public static Vocabulary bytesOnly(ModelConfig c) {
            List<String> tokens = new ArrayList<>();
            for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.charOf(b)));
            while (tokens.size() < c.vocabSize()) tokens.add("[FILL" + tokens.size() + "]");
            int[] types = new int[tokens.size()];
            java.util.Arrays.fill(types, NORMAL);
            for (int id : new int[] {c.bosTokenId(), c.eosTokenIds().isEmpty() ? c.bosTokenId() : c.eosTokenIds().get(0)}) {
                if (id >= 256) {
                    tokens.set(id, id == c.bosTokenId() ? BpeTrainer.BOS : BpeTrainer.EOS);
                    types[id] = CONTROL;
                }
            }
            return new Vocabulary(tokens, types, List.of(), c.bosTokenId(),
                    c.eosTokenIds().isEmpty() ? c.bosTokenId() : c.eosTokenIds().get(0), true);
        }
    }

    /** Writes {@code w} with {@code vocab} as a GGUF file of {@code type} (F32, or F16 for every matrix). */
    public static void write(AnchorWeights w, Vocabulary vocab, String name, GgufWriter.TensorType type, Path out) throws IOException {
        ModelConfig c = w.config;
        if (c.ropeScaling() != null) {
            throw new IOException("the model has rope_scaling, which llama.cpp reads from a rope_freqs tensor this exporter does not write");
        }
        if (vocab.tokens().size() != c.vocabSize()) {
            throw new IOException("tokenizer has " + vocab.tokens().size() + " tokens, the model's vocabulary " + c.vocabSize());
        }
        GgufWriter g = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", name)
                .putU32("general.file_type", type == GgufWriter.TensorType.F32 ? 0 : 1)  // LLAMA_FTYPE_ALL_F32 / MOSTLY_F16
                .putU32("llama.vocab_size", c.vocabSize())
                .putU32("llama.context_length", c.maxPositions())
                .putU32("llama.embedding_length", c.hiddenSize())
                .putU32("llama.block_count", c.numLayers())
                .putU32("llama.feed_forward_length", c.intermediateSize())
                .putU32("llama.attention.head_count", c.numHeads())
                .putU32("llama.attention.head_count_kv", c.numKvHeads())
                .putU32("llama.attention.key_length", c.headDim())
                .putU32("llama.attention.value_length", c.headDim())
                .putU32("llama.rope.dimension_count", c.headDim())
                .putF32("llama.rope.freq_base", c.ropeTheta())
                .putF32("llama.attention.layer_norm_rms_epsilon", c.rmsNormEps())
                .putString("tokenizer.ggml.model", "gpt2")
                // hmem's pre-tokenizer is byte-level with GPT-2's split expression.
                .putString("tokenizer.ggml.pre", "gpt-2")
                .putStrings("tokenizer.ggml.tokens", vocab.tokens())
                .putI32s("tokenizer.ggml.token_type", vocab.types())
                .putStrings("tokenizer.ggml.merges", vocab.merges())
                .putU32("tokenizer.ggml.bos_token_id", vocab.bos())
                .putU32("tokenizer.ggml.eos_token_id", vocab.eos())
                .putBool("tokenizer.ggml.add_bos_token", vocab.addBos())
                .putBool("tokenizer.ggml.add_eos_token", false);
        Map<String, NDArray> t = w.unfused();
        GgufWriter.TensorType matrix = type, vector = GgufWriter.TensorType.F32;
        tensor(g, "token_embd.weight", t.get("model.embed_tokens.weight"), matrix);
        for (int i = 0; i < c.numLayers(); i++) {
            String hf = "model.layers." + i + ".", gg = "blk." + i + ".";
            tensor(g, gg + "attn_norm.weight", t.get(hf + "input_layernorm.weight"), vector);
            g.tensor(gg + "attn_q.weight", shape(t.get(hf + "self_attn.q_proj.weight")), matrix,
                    interleaveRope(t.get(hf + "self_attn.q_proj.weight").toFloatArray(), c.numHeads(), c.headDim(), c.hiddenSize()));
            g.tensor(gg + "attn_k.weight", shape(t.get(hf + "self_attn.k_proj.weight")), matrix,
                    interleaveRope(t.get(hf + "self_attn.k_proj.weight").toFloatArray(), c.numKvHeads(), c.headDim(), c.hiddenSize()));
            tensor(g, gg + "attn_v.weight", t.get(hf + "self_attn.v_proj.weight"), matrix);
            tensor(g, gg + "attn_output.weight", t.get(hf + "self_attn.o_proj.weight"), matrix);
            tensor(g, gg + "ffn_norm.weight", t.get(hf + "post_attention_layernorm.weight"), vector);
            tensor(g, gg + "ffn_gate.weight", t.get(hf + "mlp.gate_proj.weight"), matrix);
            tensor(g, gg + "ffn_up.weight", t.get(hf + "mlp.up_proj.weight"), matrix);
            tensor(g, gg + "ffn_down.weight", t.get(hf + "mlp.down_proj.weight"), matrix);
        }
        tensor(g, "output_norm.weight", t.get("model.norm.weight"), vector);
        if (!c.tieWordEmbeddings()) tensor(g, "output.weight", t.get("lm_head.weight"), matrix);
        g.write(out);
    }

    private static void tensor(GgufWriter g, String name, NDArray a, GgufWriter.TensorType type) {
        g.tensor(name, shape(a), type, a.toFloatArray());
    }

    private static long[] shape(NDArray a) {
        return a.getShape().getShape();
    }

    /**
     * Reorders the rows of a q or k projection (heads × hd rows of {@code cols}) from rotate-half
     * pairing to adjacent pairing: within a head, row {@code j·hd/2 + i} (half j, index i) moves to
     * row {@code 2i + j}.
     */
    static float[] interleaveRope(float[] w, int heads, int hd, int cols) {
        float[] out = new float[w.length];
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < 2; j++) {
                for (int i = 0; i < half; i++) {
                    int from = h * hd + j * half + i, to = h * hd + 2 * i + j;
                    System.arraycopy(w, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }
}
