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
import dev.hmem.training.tokenizer.BpeTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The paper-scale serving setup, random weights (this measures serving, not knowledge): the paper's anchor shape
 * (d 512, 35 layers, FFN 2048, bf16; a BPE vocabulary of 8,192 learned on the demo corpus, so 151M parameters where
 * the paper's 32k vocabulary gives 160M), its bank (k=16, r = 256/64/16, bf16: 4.62B parameters, 9.3 GB), a flat bank
 * of the same fetched size (16 blocks of 336 neurons: fetch latency depends on a block's size, not on how many there
 * are), and a 65,536-leaf tree of tiny blocks (to time opening a bank of the paper's fourth level). Built once,
 * resumably.
 */
final class PaperModel {

    static final int[] NEURONS = {256, 64, 16};
    static final int FLAT = 256 + 64 + 16;

    private PaperModel() {}

    static Path anchor(Path dir) {
        return dir.resolve("anchor");
    }

    static Path bank(Path dir) {
        return dir.resolve("paper-bank");
    }

    static Path flat(Path dir) {
        return dir.resolve("flat-bank");
    }

    static Path wideTree(Path dir) {
        return dir.resolve("tree-65536");
    }

    static void ensure(Path dir) throws IOException {
        Path anchor = anchor(dir);
        if (!Files.exists(anchor.resolve("config.json"))) {
            System.err.println("creating the paper-shape anchor in " + anchor + " (once)");
            Corpus corpus = CorpusBuilder.build(dev.hmem.training.train.TrainConfigs.demo(1).corpus(), CorpusBuilder.PROSE_DIR);
            List<String> texts = new ArrayList<>();
            for (Document d : corpus.documents()) texts.add(d.text());
            BpeTrainer.Vocabulary v = BpeTrainer.train(texts, 8192, 2);
            ModelConfig c = Presets.paper(v.size(), v.bosId(), v.eosId());
            BpeTrainer.write(v, anchor, c.maxPositions());
            try (AnchorWeights w = AnchorWeights.random(c, 1)) {
                w.save(anchor, DType.BF16);
            }
        }
        BankManifest.Anchor id;
        ModelConfig c = ModelConfig.load(anchor);
        try (AnchorWeights w = AnchorWeights.load(anchor, c)) {
            id = w.identity();
        }
        if (!Files.exists(bank(dir).resolve(BankManifest.FILE))) RandomBank.create(bank(dir), id, 16, 3, NEURONS, 0, DType.BF16, false, 1);
        if (!Files.exists(flat(dir).resolve(BankManifest.FILE))) RandomBank.create(flat(dir), id, 16, 1, new int[] {FLAT}, 0, DType.BF16, false, 1);
        if (!Files.exists(wideTree(dir).resolve(BankManifest.FILE))) {
            RandomBank.create(wideTree(dir), new BankManifest.Anchor("tiny", 8, 1), 16, 4, new int[] {4, 4, 4, 4}, 0, DType.BF16, false, 1);
        }
    }
}
