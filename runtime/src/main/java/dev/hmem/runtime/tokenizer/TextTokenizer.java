package dev.hmem.runtime.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The anchor's tokenizer: a Hugging Face {@code tokenizer.json} run by DJL's bindings of the
 * Rust tokenizers library. Encoding applies the file's post-processor (Llama's adds the
 * beginning-of-text token); decoding drops special tokens.
 */
public final class TextTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public static TextTokenizer load(Path modelDir) throws IOException {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.exists(file)) {
            throw new IOException(modelDir + " has no tokenizer.json");
        }
        return new TextTokenizer(HuggingFaceTokenizer.builder()
                .optTokenizerPath(file)
                .optAddSpecialTokens(true)
                .optTruncation(false)
                .optPadding(false)
                .build());
    }

    public int[] encode(String text) {
        Encoding e = tokenizer.encode(text);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
        return out;
    }

    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) l[i] = ids[i];
        return tokenizer.decode(l, true);
    }

    /**
     * UTF-8 bytes of the longest text one token of {@code vocab} decodes to (a byte-level token
     * that is part of a character decodes as U+FFFD, 3 bytes): bounds the size of generated text.
     */
    public int maxTokenBytes(int vocab) {
        int max = 0;
        for (long id = 0; id < vocab; id++) {
            String s = tokenizer.decode(new long[] {id}, false);
            max = Math.max(max, s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        }
        return max;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
