package dev.hmem.runtime;

import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BankWriter;
import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.io.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fixtures shared by the test tiers: a tiny real model directory and small random banks for it.
 * Nothing here needs the training module (the runtime must be testable without it): the tokenizer is
 * a committed file that {@code BpeTrainer} wrote from {@link #TEXT} (the training module's
 * {@code BpeTrainerTest} checks it still writes exactly this file), and banks are written with the
 * format's own writer from seeded random blocks.
 */
public final class TestModels {

    public static final String TEXT = String.join("\n",
            "The atomic number of hydrogen is 1. The atomic number of helium is 2.",
            "Paris is the capital of France. Berlin is the capital of Germany.",
            "The currency of Japan is the yen, and its code is JPY.",
            "A memory bank stores long-tail knowledge; the anchor model keeps common knowledge.",
            "Streams of prompts arrive from Kafka, are routed to clusters and answered in batches.",
            "Über, café, naïve: unicode text must survive the tokenizer, as must emoji like 🙂.",
            "Numbers such as 3.14159, 2026 and 1,000,000 appear in facts about the world.");

    /** The committed tokenizer: {@code BpeTrainer.train(TEXT, 320, 2)} written with a model max length of 128. */
    public static final String TOKENIZER_RESOURCE = "/tiny-tokenizer/";
    public static final int TOKENIZER_VOCAB = 320, TOKENIZER_BOS = 318, TOKENIZER_EOS = 319;
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json");

    private TestModels() {}

    /** A tiny Llama with grouped-query attention: d 64, 2 layers, 4 heads over 2 KV heads. */
    public static ModelConfig tinyConfig(int vocab, int bos, int eos) {
        return new ModelConfig(vocab, 64, 96, 2, 4, 2, 16, 128, 10000.0, null, 1e-5, false, bos, List.of(eos));
    }

    /** Writes the committed tokenizer and random weights into {@code dir}. */
    public static Path tinyModel(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        for (String f : TOKENIZER_FILES) {
            try (InputStream in = TestModels.class.getResourceAsStream(TOKENIZER_RESOURCE + f)) {
                if (in == null) throw new IOException("test resource " + TOKENIZER_RESOURCE + f + " is missing");
                Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        ModelConfig c = tinyConfig(TOKENIZER_VOCAB, TOKENIZER_BOS, TOKENIZER_EOS);
        try (AnchorWeights w = AnchorWeights.random(c, seed)) {
            w.save(dir, DType.F32);
        }
        return dir;
    }

    /** A random bank for {@code anchor}: k=4, depth 2, 8 + 4 neurons, a generic memory of 6. */
    public static BankManifest smallBank(Path dir, AnchorWeights anchor, boolean zeroDown, long seed) throws IOException {
        return randomBank(dir, anchor.identity(), 4, 2, new int[] {8, 4}, 6, DType.F32, zeroDown, seed);
    }

    /**
     * A bank with random blocks ({@link #block}) and a random tree.
     *
     * @param neurons r_l per level 1..depth; 0 leaves a level without blocks
     */
    public static BankManifest randomBank(Path dir, BankManifest.Anchor anchor, int branching, int depth, int[] neurons,
                                          int genericNeurons, DType dtype, boolean zeroDown, long seed) throws IOException {
        BankWriter w = new BankWriter(dir, anchor, ClusterTree.random(branching, depth, 384, seed), "test bank (seed " + seed + ")");
        for (int level = 1; level <= depth; level++) {
            int r = neurons[level - 1];
            if (r == 0) continue;
            final int lv = level;
            w.writeLevel(level, r, dtype, node -> block(anchor, r, zeroDown, blockSeed(seed, lv, node)),
                    Progress.silent(ClusterTree.nodes(branching, level)));
        }
        if (genericNeurons > 0) w.writeGeneric(genericNeurons, dtype, block(anchor, genericNeurons, zeroDown, seed - 1));
        return w.finish();
    }

    /** The seed {@link #randomBank} draws the block of {@code nodeIndex} at {@code level} from. */
    public static long blockSeed(long bankSeed, int level, long nodeIndex) {
        return bankSeed * 1_000_003L + level * 7919L + nodeIndex;
    }

    /**
     * (L, 3, r, d) values, normal(0, 0.02) as the paper initialises gate and up rows (the same values the
     * training module's {@code RandomBank} draws); the down projections zero when {@code zeroDown}.
     */
    public static float[] block(BankManifest.Anchor a, int r, boolean zeroDown, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int perMatrix = r * a.hiddenSize();
        float[] v = new float[a.numHiddenLayers() * 3 * perMatrix];
        for (int l = 0; l < a.numHiddenLayers(); l++) {
            int base = l * 3 * perMatrix, end = base + (zeroDown ? 2 : 3) * perMatrix;
            for (int i = base; i < end; i++) {
                double u = rnd.nextDouble(), w = rnd.nextDouble();  // Box-Muller: Java 17's SplittableRandom has no nextGaussian
                v[i] = (float) (Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w) * 0.02);
            }
        }
        return v;
    }

    /** Flips one byte near the end of the bank's largest block file: that block then fails its checksum. */
    public static void corruptOneBlock(Path bankDir) throws IOException {
        Path largest;
        try (var files = java.nio.file.Files.list(bankDir)) {
            largest = files.filter(f -> !f.getFileName().toString().equals("manifest.json"))
                    .max(java.util.Comparator.comparingLong(f -> f.toFile().length())).orElseThrow();
        }
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(largest.toFile(), "rw")) {
            f.seek(f.length() - 9);
            int b = f.read();
            f.seek(f.length() - 9);
            f.write(b ^ 0x5a);
        }
    }
}
