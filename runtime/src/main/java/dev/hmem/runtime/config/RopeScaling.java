package dev.hmem.runtime.config;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * Llama 3's RoPE frequency scaling ({@code "rope_type": "llama3"}): long wavelengths are divided
 * by {@code factor}, short ones kept, and the band between interpolated. The only scaling Llama 3.x
 * checkpoints use; other kinds are refused.
 */
public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {

    static RopeScaling fromJson(JsonElement e) {
        if (e == null || e.isJsonNull()) return null;
        JsonObject o = e.getAsJsonObject();
        JsonElement typeEl = o.has("rope_type") ? o.get("rope_type") : o.get("type");
        String type = typeEl == null ? "?" : typeEl.getAsString();
        if (!type.equals("llama3")) {
            throw new ConfigException("rope_scaling type '" + type + "' is not supported (only 'llama3')");
        }
        return new RopeScaling(o.get("factor").getAsDouble(), o.get("low_freq_factor").getAsDouble(),
                o.get("high_freq_factor").getAsDouble(), o.get("original_max_position_embeddings").getAsInt());
    }

    JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("rope_type", "llama3");
        o.addProperty("factor", factor);
        o.addProperty("low_freq_factor", lowFreqFactor);
        o.addProperty("high_freq_factor", highFreqFactor);
        o.addProperty("original_max_position_embeddings", originalMaxPositions);
        return o;
    }

    /** Applies the scaling to one inverse frequency (radians per position). */
    public double scale(double invFreq) {
        double lowWavelen = originalMaxPositions / lowFreqFactor;
        double highWavelen = originalMaxPositions / highFreqFactor;
        double wavelen = 2 * Math.PI / invFreq;
        if (wavelen < highWavelen) return invFreq;
        if (wavelen > lowWavelen) return invFreq / factor;
        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * invFreq / factor + smooth * invFreq;
    }
}
