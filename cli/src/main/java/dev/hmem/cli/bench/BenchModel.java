package dev.hmem.cli.bench;

import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.config.Presets;
import dev.hmem.runtime.io.DType;
import dev.hmem.training.bank.RandomBank;
import dev.hmem.training.corpus.Corpus;
import dev.hmem.training.corpus.CorpusBuilder;
import dev.hmem.training.corpus.Document;
import dev.hmem.training.corpus.Fact;
import dev.hmem.training.corpus.FactTables;
import dev.hmem.training.tokenizer.BpeTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The serving benchmarks' model: the brief's 31.5M reference Llama (d 512, 8 layers, FFN 1536,
 * random weights, a BPE vocabulary of 8,192 learned on the demo corpus) and a random bank much larger
 * than any cache budget (k=16, depth 3, 96 + 48 + 10 neurons per level, ~2.7 GiB in f32), built once.
 */
public final class BenchModel {

    static final int[] NEURONS = {96, 48, 10};

    private BenchModel() {}

    public static Path model(Path dir) {
        return dir.resolve("model");
    }

    public static Path bank(Path dir) {
        return dir.resolve("bank");
    }

    public static void ensure(Path dir) throws IOException {
        Path model = model(dir), bank = bank(dir);
        if (Files.exists(bank.resolve(BankManifest.FILE))) return;
        System.err.println("creating the benchmark model and a ~2.7 GiB bank in " + dir + " (once)");
        Corpus corpus = CorpusBuilder.build(dev.hmem.training.train.TrainConfigs.demo(1).corpus(), CorpusBuilder.PROSE_DIR);
        List<String> texts = new ArrayList<>();
        for (Document d : corpus.documents()) texts.add(d.text());
        BpeTrainer.Vocabulary v = BpeTrainer.train(texts, 8192, 2);
        BpeTrainer.write(v, model, 512);
        ModelConfig c = Presets.bench(v.size(), v.bosId(), v.eosId());
        String fp;
        try (AnchorWeights w = AnchorWeights.random(c, 1)) {
            fp = w.save(model, DType.F32);
        }
        RandomBank.create(bank, new BankManifest.Anchor(fp, c.hiddenSize(), c.numLayers()), 16, 3, NEURONS, 0, DType.F32, false, 3);
    }

    /** Prompts: probes of every fact table, shuffled. */
    public static List<String> prompts(int n) throws IOException {
        List<String> all = new ArrayList<>();
        for (FactTables.Relation r : FactTables.Relation.values()) for (Fact f : FactTables.facts(r)) all.add(f.probe());
        java.util.Collections.shuffle(all, new Random(3));
        return all.subList(0, Math.min(n, all.size()));
    }
}
