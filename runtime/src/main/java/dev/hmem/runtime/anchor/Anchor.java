package dev.hmem.runtime.anchor;

import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A loaded anchor model directory (Hugging Face layout): config, weights, tokenizer and the
 * forward pass over them.
 */
public final class Anchor implements AutoCloseable {

    private final Path dir;
    private final AnchorWeights weights;
    private final Transformer transformer;
    private final TextTokenizer tokenizer;

    private Anchor(Path dir, AnchorWeights weights, TextTokenizer tokenizer) {
        this.dir = dir;
        this.weights = weights;
        this.transformer = new Transformer(weights);
        this.tokenizer = tokenizer;
    }

    public static Anchor load(Path dir) throws IOException {
        ModelConfig config = ModelConfig.load(dir);
        TextTokenizer tok = TextTokenizer.load(dir);
        try {
            return new Anchor(dir, AnchorWeights.load(dir, config), tok);
        } catch (IOException | RuntimeException e) {
            tok.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public ModelConfig config() {
        return weights.config;
    }

    public AnchorWeights weights() {
        return weights;
    }

    public Transformer transformer() {
        return transformer;
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    public String fingerprint() {
        return weights.fingerprint;
    }

    @Override
    public void close() {
        transformer.close();
        weights.close();
        tokenizer.close();
    }
}
