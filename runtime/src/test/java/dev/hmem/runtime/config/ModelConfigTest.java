package dev.hmem.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.hmem.runtime.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {

    /** A real Llama 3.2 1B config.json, as published. */
    static final String LLAMA_32_1B = "{\"architectures\":[\"LlamaForCausalLM\"],\"attention_bias\":false,"
            + "\"attention_dropout\":0.0,\"bos_token_id\":128000,\"eos_token_id\":128001,\"head_dim\":64,"
            + "\"hidden_act\":\"silu\",\"hidden_size\":2048,\"initializer_range\":0.02,\"intermediate_size\":8192,"
            + "\"max_position_embeddings\":131072,\"mlp_bias\":false,\"model_type\":\"llama\",\"num_attention_heads\":32,"
            + "\"num_hidden_layers\":16,\"num_key_value_heads\":8,\"pretraining_tp\":1,\"rms_norm_eps\":1e-05,"
            + "\"rope_scaling\":{\"factor\":32.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
            + "\"original_max_position_embeddings\":8192,\"rope_type\":\"llama3\"},\"rope_theta\":500000.0,"
            + "\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\",\"transformers_version\":\"4.45.0.dev0\","
            + "\"use_cache\":true,\"vocab_size\":128256}";

    @Test
    void parsesARealLlamaConfig() {
        ModelConfig c = ModelConfig.fromJson(JsonParser.parseString(LLAMA_32_1B).getAsJsonObject());
        assertThat(c.numKvHeads()).isEqualTo(8);
        assertThat(c.groupSize()).isEqualTo(4);
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.ropeScaling().factor()).isEqualTo(32.0);
        assertThat(c.eosTokenIds()).containsExactly(128001);
        // 1.24B parameters, as Meta reports for Llama 3.2 1B.
        assertThat(c.parameterCount()).isBetween(1_230_000_000L, 1_240_000_000L);
        // Low frequencies are scaled down by the factor, high ones kept.
        assertThat(c.ropeScaling().scale(1.0)).isEqualTo(1.0);
        assertThat(c.ropeScaling().scale(1e-5)).isEqualTo(1e-5 / 32);
    }

    @Test
    void roundTripsThroughJson() {
        ModelConfig c = TestModels.tinyConfig(300, 298, 299);
        assertThat(ModelConfig.fromJson(c.toJson())).isEqualTo(c);
    }

    @Test
    void badConfigsAreClearErrors() {
        assertThatThrownBy(() -> parse(j -> j.addProperty("sliding_window", 4096)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("unknown config key(s) [sliding_window]");
        assertThatThrownBy(() -> parse(j -> j.remove("hidden_size"))).hasMessageContaining("missing required key 'hidden_size'");
        assertThatThrownBy(() -> parse(j -> j.addProperty("num_key_value_heads", 5)))
                .hasMessageContaining("num_key_value_heads (5) must divide num_attention_heads (32)");
        assertThatThrownBy(() -> parse(j -> j.addProperty("hidden_act", "gelu"))).hasMessageContaining("hidden_act 'gelu'");
        assertThatThrownBy(() -> parse(j -> j.addProperty("attention_bias", true))).hasMessageContaining("attention_bias");
        assertThatThrownBy(() -> parse(j -> j.addProperty("model_type", "qwen2"))).hasMessageContaining("model_type 'qwen2'");
        assertThatThrownBy(() -> parse(j -> j.addProperty("vocab_size", "many"))).hasMessageContaining("'vocab_size' must be an integer");
        assertThatThrownBy(() -> parse(j -> j.getAsJsonObject("rope_scaling").addProperty("rope_type", "yarn")))
                .hasMessageContaining("rope_scaling type 'yarn'");
        assertThatThrownBy(() -> parse(j -> j.addProperty("eos_token_id", 999999))).hasMessageContaining("eos_token_id 999999");
    }

    static ModelConfig parse(java.util.function.Consumer<JsonObject> edit) {
        JsonObject o = JsonParser.parseString(LLAMA_32_1B).getAsJsonObject();
        edit.accept(o);
        return ModelConfig.fromJson(o);
    }

    @Test
    void generationConfigSetsTheStopTokens(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), LLAMA_32_1B);
        assertThat(ModelConfig.load(dir).eosTokenIds()).containsExactly(128001);
        // Llama 3.2 1B Instruct's generation_config.json, as published (sampling defaults are not taken).
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 128000, \"do_sample\": true,"
                + " \"eos_token_id\": [128001, 128008, 128009], \"temperature\": 0.6, \"top_p\": 0.9,"
                + " \"transformers_version\": \"4.45.0.dev0\"}");
        ModelConfig c = ModelConfig.load(dir);
        assertThat(c.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(c.bosTokenId()).isEqualTo(128000);
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [128001, \"end\"]}");
        assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("generation_config.json")
                .hasMessageContaining("eos_token_id");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": 200000}");
        assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("generation_config.json")
                .hasMessageContaining("outside the vocabulary");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [1,");
        assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("generation_config.json")
                .hasMessageContaining("not valid JSON");
    }
}
