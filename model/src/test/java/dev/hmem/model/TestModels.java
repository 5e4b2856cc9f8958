package dev.hmem.model;

import dev.hmem.model.anchor.AnchorWeights;
import dev.hmem.model.config.ModelConfig;
import dev.hmem.model.io.DType;
import dev.hmem.model.memory.BankManifest;
import dev.hmem.model.memory.RandomBank;
import dev.hmem.model.tokenizer.BpeTrainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Fixtures shared by the test tiers: a tiny real model directory and random banks for it. */
public final class TestModels {

    public static final String TEXT = String.join("\n",
            "The atomic number of hydrogen is 1. The atomic number of helium is 2.",
            "Paris is the capital of France. Berlin is the capital of Germany.",
            "The currency of Japan is the yen, and its code is JPY.",
            "A memory bank stores long-tail knowledge; the anchor model keeps common knowledge.",
            "Streams of prompts arrive from Kafka, are routed to clusters and answered in batches.",
            "Über, café, naïve: unicode text must survive the tokenizer, as must emoji like 🙂.",
            "Numbers such as 3.14159, 2026 and 1,000,000 appear in facts about the world.");

    private TestModels() {}

    /** A tiny Llama with grouped-query attention: d 64, 2 layers, 4 heads over 2 KV heads. */
    public static ModelConfig tinyConfig(int vocab, int bos, int eos) {
        return new ModelConfig(vocab, 64, 96, 2, 4, 2, 16, 128, 10000.0, null, 1e-5, false, bos, List.of(eos));
    }

    /** Writes a tokenizer trained on {@link #TEXT} and random weights into {@code dir}. */
    public static Path tinyModel(Path dir, long seed) throws IOException {
        BpeTrainer.Vocabulary v = BpeTrainer.train(List.of(TEXT), 320, 2);
        BpeTrainer.write(v, dir, 128);
        ModelConfig c = tinyConfig(v.size(), v.bosId(), v.eosId());
        try (AnchorWeights w = AnchorWeights.random(c, seed)) {
            w.save(dir, DType.F32);
        }
        return dir;
    }

    /** A random bank for {@code anchor}: k=4, depth 2, 8 + 4 neurons, a generic memory of 6. */
    public static BankManifest smallBank(Path dir, AnchorWeights anchor, boolean zeroDown, long seed) throws IOException {
        return RandomBank.create(dir, anchorInfo(anchor), 4, 2, new int[] {8, 4}, 6, DType.F32, zeroDown, seed);
    }

    public static BankManifest.Anchor anchorInfo(AnchorWeights w) {
        return new BankManifest.Anchor(w.fingerprint, w.config.hiddenSize(), w.config.numLayers());
    }
}
