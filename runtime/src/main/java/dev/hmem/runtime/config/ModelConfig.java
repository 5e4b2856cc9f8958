package dev.hmem.runtime.config;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The anchor's architecture as written in a Hugging Face {@code config.json} of a Llama-family
 * model. Parsing is strict: a key hmem does not know, or a known key with a value that would change
 * the math in a way hmem does not implement (attention bias, a non-SiLU activation, an unknown RoPE
 * scaling), is a clear error rather than a silently wrong model.
 *
 * @param vocabSize             number of token embeddings
 * @param hiddenSize            d, the residual width
 * @param intermediateSize      F, the SwiGLU inner width of the anchor
 * @param numLayers             L
 * @param numHeads              query heads H
 * @param numKvHeads            key/value heads (grouped-query attention), divides H
 * @param headDim               width of one head
 * @param maxPositions          the context length in tokens
 * @param ropeTheta             RoPE base
 * @param ropeScaling           optional "llama3" frequency scaling, null when absent
 * @param rmsNormEps            epsilon inside RMSNorm
 * @param tieWordEmbeddings     whether the LM head reuses the token embedding matrix
 * @param bosTokenId            beginning-of-sequence token, -1 if none
 * @param eosTokenIds           end-of-sequence tokens (may be several)
 */
public record ModelConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositions,
        double ropeTheta,
        RopeScaling ropeScaling,
        double rmsNormEps,
        boolean tieWordEmbeddings,
        int bosTokenId,
        List<Integer> eosTokenIds) {

    /** Keys read by {@link #fromJson}; anything else must be in {@link #IGNORED_KEYS}. */
    private static final Set<String> USED_KEYS = Set.of(
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings",
            "rope_theta", "rope_scaling", "rms_norm_eps", "tie_word_embeddings", "bos_token_id",
            "eos_token_id", "model_type", "hidden_act", "attention_bias", "mlp_bias", "pretraining_tp");

    /** Keys of real Llama configs that carry no information the forward pass needs. */
    private static final Set<String> IGNORED_KEYS = Set.of(
            "architectures", "torch_dtype", "dtype", "transformers_version", "initializer_range",
            "use_cache", "attention_dropout", "_name_or_path", "pad_token_id");

    public ModelConfig {
        check(vocabSize > 0, "vocab_size must be positive, got %s", vocabSize);
        check(hiddenSize > 0, "hidden_size must be positive, got %s", hiddenSize);
        check(intermediateSize > 0, "intermediate_size must be positive, got %s", intermediateSize);
        check(numLayers > 0, "num_hidden_layers must be positive, got %s", numLayers);
        check(numHeads > 0, "num_attention_heads must be positive, got %s", numHeads);
        check(numKvHeads > 0 && numHeads % numKvHeads == 0,
                "num_key_value_heads (%s) must divide num_attention_heads (%s)", numKvHeads, numHeads);
        check(headDim > 0 && headDim % 2 == 0, "head_dim must be a positive even number, got %s", headDim);
        check(maxPositions > 1, "max_position_embeddings must be > 1, got %s", maxPositions);
        check(ropeTheta > 0, "rope_theta must be positive, got %s", ropeTheta);
        check(rmsNormEps > 0, "rms_norm_eps must be positive, got %s", rmsNormEps);
        check(bosTokenId < vocabSize, "bos_token_id %s outside the vocabulary of %s", bosTokenId, vocabSize);
        eosTokenIds = List.copyOf(eosTokenIds);
        for (int eos : eosTokenIds) {
            check(eos >= 0 && eos < vocabSize, "eos_token_id %s outside the vocabulary of %s", eos, vocabSize);
        }
    }

    private static void check(boolean ok, String fmt, Object... args) {
        if (!ok) throw new ConfigException(String.format(fmt, args));
    }

    /** Width of the fused q/k/v projection output. */
    public int qkvWidth() {
        return (numHeads + 2 * numKvHeads) * headDim;
    }

    /** Query heads that share one key/value head. */
    public int groupSize() {
        return numHeads / numKvHeads;
    }

    /** Parameters of the anchor, counting a tied LM head once. */
    public long parameterCount() {
        long d = hiddenSize;
        long attn = d * (long) qkvWidth() + (long) numHeads * headDim * d;
        long ffn = 3L * d * intermediateSize;
        long perLayer = attn + ffn + 2 * d;
        long emb = (long) vocabSize * d;
        return emb + (tieWordEmbeddings ? 0 : emb) + numLayers * perLayer + d;
    }

    /** Parameters touched per generated token (all but the embedding lookup table). */
    public long activeParameterCount() {
        long d = hiddenSize;
        long perLayer = d * (long) qkvWidth() + (long) numHeads * headDim * d + 3L * d * intermediateSize;
        return numLayers * perLayer + (long) vocabSize * d;
    }

    public static ModelConfig load(Path modelDir) throws IOException {
        Path file = modelDir.resolve("config.json");
        String json;
        try {
            json = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(modelDir + " has no config.json: not a Hugging Face model directory");
        }
        ModelConfig c;
        try {
            c = fromJson(JsonParser.parseString(json).getAsJsonObject());
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw new ConfigException(file + ": not a valid config: " + e.getMessage());
        }
        return c.withGenerationConfig(modelDir.resolve(GENERATION_FILE));
    }

    /** Hugging Face's file of generation defaults, beside config.json. */
    public static final String GENERATION_FILE = "generation_config.json";

    /**
     * The token ids of {@code generation_config.json}, when the directory has one: Hugging Face's
     * {@code generate} stops on that file's {@code eos_token_id} (Llama 3 Instruct lists three end
     * tokens there and one in config.json), so serving does too. Its sampling defaults (temperature,
     * top_p, ...) are not taken: every hmem request states its own. The ids become part of the
     * config the fingerprint covers, since they change what is served.
     */
    ModelConfig withGenerationConfig(Path file) throws IOException {
        if (!Files.exists(file)) return this;
        JsonObject g;
        try {
            g = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new ConfigException(file + ": not valid JSON: " + e.getMessage());
        }
        try {
            List<Integer> eos = g.has("eos_token_id") && !g.get("eos_token_id").isJsonNull()
                    ? tokenIds(g.get("eos_token_id")) : eosTokenIds;
            int bos = optInt(g, "bos_token_id", bosTokenId);
            return new ModelConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
                    maxPositions, ropeTheta, ropeScaling, rmsNormEps, tieWordEmbeddings, bos, eos);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage());
        }
    }

    private static List<Integer> tokenIds(JsonElement e) {
        List<Integer> ids = new ArrayList<>();
        try {
            if (e.isJsonArray()) {
                for (JsonElement x : e.getAsJsonArray()) ids.add(x.getAsInt());
            } else {
                ids.add(e.getAsInt());
            }
        } catch (RuntimeException ex) {
            throw new ConfigException("eos_token_id must be an integer or a list of integers, got " + e);
        }
        return ids;
    }

    public static ModelConfig fromJson(JsonObject o) {
        Set<String> unknown = new TreeSet<>();
        for (String key : o.keySet()) {
            if (!USED_KEYS.contains(key) && !IGNORED_KEYS.contains(key)) unknown.add(key);
        }
        check(unknown.isEmpty(), "unknown config key(s) %s: hmem implements Llama-family decoders only", unknown);
        String type = optString(o, "model_type", "llama");
        check(type.equals("llama"), "model_type '%s' is not supported (only 'llama')", type);
        String act = optString(o, "hidden_act", "silu");
        check(act.equals("silu"), "hidden_act '%s' is not supported (SwiGLU needs 'silu')", act);
        check(!optBool(o, "attention_bias", false), "attention_bias=true is not supported");
        check(!optBool(o, "mlp_bias", false), "mlp_bias=true is not supported");
        check(optInt(o, "pretraining_tp", 1) == 1, "pretraining_tp other than 1 is not supported");

        int hidden = reqInt(o, "hidden_size");
        int heads = reqInt(o, "num_attention_heads");
        check(o.has("head_dim") || hidden % heads == 0,
                "hidden_size %s is not divisible by num_attention_heads %s", hidden, heads);
        int headDim = optInt(o, "head_dim", heads > 0 ? hidden / heads : 0);
        JsonElement eosEl = o.get("eos_token_id");
        List<Integer> eos = eosEl == null || eosEl.isJsonNull() ? List.of() : tokenIds(eosEl);
        RopeScaling scaling = RopeScaling.fromJson(o.get("rope_scaling"));
        return new ModelConfig(
                reqInt(o, "vocab_size"), hidden, reqInt(o, "intermediate_size"),
                reqInt(o, "num_hidden_layers"), heads, optInt(o, "num_key_value_heads", heads), headDim,
                optInt(o, "max_position_embeddings", 2048), optDouble(o, "rope_theta", 10000.0), scaling,
                optDouble(o, "rms_norm_eps", 1e-6), optBool(o, "tie_word_embeddings", false),
                optInt(o, "bos_token_id", -1), eos);
    }

    /** The config as Hugging Face writes it for {@code LlamaForCausalLM}. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add("LlamaForCausalLM");
        o.add("architectures", arch);
        o.addProperty("model_type", "llama");
        o.addProperty("vocab_size", vocabSize);
        o.addProperty("hidden_size", hiddenSize);
        o.addProperty("intermediate_size", intermediateSize);
        o.addProperty("num_hidden_layers", numLayers);
        o.addProperty("num_attention_heads", numHeads);
        o.addProperty("num_key_value_heads", numKvHeads);
        o.addProperty("head_dim", headDim);
        o.addProperty("max_position_embeddings", maxPositions);
        o.addProperty("rope_theta", ropeTheta);
        if (ropeScaling != null) o.add("rope_scaling", ropeScaling.toJson());
        o.addProperty("rms_norm_eps", rmsNormEps);
        o.addProperty("tie_word_embeddings", tieWordEmbeddings);
        o.addProperty("hidden_act", "silu");
        o.addProperty("attention_bias", false);
        o.addProperty("mlp_bias", false);
        if (bosTokenId >= 0) o.addProperty("bos_token_id", bosTokenId);
        if (eosTokenIds.size() == 1) {
            o.addProperty("eos_token_id", eosTokenIds.get(0));
        } else if (!eosTokenIds.isEmpty()) {
            JsonArray a = new JsonArray();
            eosTokenIds.forEach(a::add);
            o.add("eos_token_id", a);
        }
        o.addProperty("torch_dtype", "float32");
        return o;
    }

    public void save(Path modelDir) throws IOException {
        Gson gson = new GsonBuilder().setPrettyPrinting().create();
        Files.createDirectories(modelDir);
        Files.writeString(modelDir.resolve("config.json"), gson.toJson(toJson()) + "\n");
    }

    /** A compact description for logs and --json output. */
    public Map<String, Object> summary() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layers", numLayers);
        m.put("hidden", hiddenSize);
        m.put("ffn", intermediateSize);
        m.put("heads", numHeads);
        m.put("kv_heads", numKvHeads);
        m.put("vocab", vocabSize);
        m.put("context", maxPositions);
        m.put("parameters", parameterCount());
        return m;
    }

    private static int reqInt(JsonObject o, String key) {
        JsonElement e = o.get(key);
        check(e != null && !e.isJsonNull(), "missing required key '%s'", key);
        try {
            return e.getAsInt();
        } catch (RuntimeException ex) {
            throw new ConfigException("key '" + key + "' must be an integer, got " + e);
        }
    }

    private static int optInt(JsonObject o, String key, int def) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : reqInt(o, key);
    }

    private static double optDouble(JsonObject o, String key, double def) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsDouble();
    }

    private static boolean optBool(JsonObject o, String key, boolean def) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsBoolean();
    }

    private static String optString(JsonObject o, String key, String def) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsString();
    }
}
