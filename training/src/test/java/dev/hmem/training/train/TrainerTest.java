package dev.hmem.training.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BankException;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.SamplingParams;
import dev.hmem.runtime.io.SafeTensorsFile;
import dev.hmem.training.corpus.CorpusBuilder;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The micro configuration end to end: corpus, tokenizer, tree, both stages, saved model and bank. */
class TrainerTest {

    @TempDir
    static Path tmp;
    static Trainer.Result run;
    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    @BeforeAll
    static void trainMicro() throws Exception {
        try (Trainer t = new Trainer(TrainConfigs.micro(1), QUIET)) {
            run = t.run(tmp.resolve("micro"), CorpusBuilder.PROSE_DIR);
        }
    }

    static double mean(List<double[]> losses, int stage, int from, int to) {
        return losses.stream().filter(l -> l[0] == stage && l[1] >= from && l[1] < to).mapToDouble(l -> l[2]).average().orElseThrow();
    }

    @Test
    void lossFallsOnAMicroRun() {
        assertThat(mean(run.losses(), 1, 25, 30)).isLessThan(mean(run.losses(), 1, 0, 5) - 0.5);
        assertThat(mean(run.losses(), 2, 25, 30)).isLessThan(mean(run.losses(), 1, 0, 5));
    }

    @Test
    void trainingJsonRecordsTheOptimizerEachPartRanWith() throws Exception {
        TrainConfig c = TrainConfigs.micro(1);
        var stats = com.google.gson.JsonParser.parseString(Files.readString(tmp.resolve("micro/training.json"))).getAsJsonObject();
        var o = stats.getAsJsonObject("optimizer");
        assertThat(o.get("lr_anchor").getAsDouble()).isEqualTo(c.lrAnchor());
        assertThat(o.get("wd_anchor").getAsDouble()).isEqualTo(c.wdAnchor());
        assertThat(o.get("lr_memory").getAsDouble()).isEqualTo(c.lrMemory());
        assertThat(o.get("wd_memory").getAsDouble()).isEqualTo(c.wdMemory());
    }

    @Test
    void aMemoryOptimizerSweepChangesOnlyTheMemoriesLrAndDecay() {
        TrainConfig c = TrainConfigs.micro(1), m = c.withMemoryOptimizer(7e-2, 4e-3);
        assertThat(m.lrMemory()).isEqualTo(7e-2);
        assertThat(m.wdMemory()).isEqualTo(4e-3);
        // every other component is the same: rebuilt with the old memory values it equals the original
        assertThat(m.withMemoryOptimizer(c.lrMemory(), c.wdMemory())).isEqualTo(c);
        for (double[] bad : new double[][] {{0, 1e-3}, {-1e-2, 1e-3}, {Double.NaN, 1e-3}, {1e-2, -1e-3}, {1e-2, Double.NaN}}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> c.withMemoryOptimizer(bad[0], bad[1]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("memory LR must be > 0");
        }
    }

    @Test
    void afterATrainingStepBlocksOffThePathAreBitIdentical(@TempDir Path dir) throws Exception {
        TrainConfig m = TrainConfigs.micro(1);
        // Two anchor steps, then a single memory step: two leaf groups of four sequences, no generic memory.
        TrainConfig one = new TrainConfig(m.name(), m.corpus(), m.vocab(), m.hidden(), m.ffn(), m.layers(), m.heads(),
                m.kvHeads(), m.context(), m.branching(), m.depth(), m.neurons(), m.generic(), m.minLeaf(), m.seqLen(),
                m.batch(), 2, 1, m.lrAnchor(), m.lrMemory(), m.wdAnchor(), m.wdMemory(), m.warmup(), m.clip(),
                0.0, 4, m.denseScale(), m.denseMatch(), 0, m.seed());
        Trainer.Result r;
        try (Trainer t = new Trainer(one, QUIET)) {
            r = t.run(dir.resolve("run"), CorpusBuilder.PROSE_DIR);
        }
        // Which leaves that memory step trained, worked out independently of the trainer: the same
        // prepared data and the sampler's leaf choice for each group of stage 2's first step.
        PreparedData data = PreparedData.prepare(one, dir.resolve("again"), CorpusBuilder.PROSE_DIR, null, QUIET);
        int[][] docFacts = new int[data.docTokens().length][];
        for (int i = 0; i < docFacts.length; i++) docFacts[i] = data.corpus().documents().get(i).factIds();
        SequenceSampler sampler = new SequenceSampler(data.docTokens(), docFacts, data.docLeaves(), one.seed());
        int groups = one.batch() / one.rowsPerLeaf();
        try (MemoryBank bank = MemoryBank.open(r.bankDir()); NDManager mgr = NDManager.newBaseManager();
             TrainableBank init = new TrainableBank(bank.tree(), one.neurons(), one.generic(), one.layers(), one.hidden(),
                     one.seed() + 1, mgr)) {
            Set<BlockId> trained = new HashSet<>();
            for (int g = 0; g < groups; g++) trained.addAll(bank.blocksFor(sampler.leafOf(2_000_000_000L, g, groups)));
            assertThat(trained).as("two leaves: two or three level-1 and level-2 blocks").hasSizeBetween(2, 4);
            for (Map.Entry<BlockId, ai.djl.ndarray.NDArray> e : init.params.entrySet()) {
                float[] before = e.getValue().toFloatArray();
                float[] after = bank.load(e.getKey(), mgr).data().toFloatArray();
                if (trained.contains(e.getKey())) {
                    assertThat(after).as("block %s was on a trained path", e.getKey()).isNotEqualTo(before);
                } else {
                    assertThat(after).as("block %s was not on a trained path", e.getKey()).containsExactly(before);
                }
            }
            assertThat(r.blockUpdates().keySet()).containsExactlyInAnyOrderElementsOf(
                    trained.stream().map(BlockId::toString).toList());
        }
    }

    @Test
    void savedModelReloadsAndGeneratesTheSameTokens() throws Exception {
        try (Anchor a = Anchor.load(run.modelDir()); MemoryBank bank = MemoryBank.open(run.bankDir());
             NDManager m = NDManager.newBaseManager();
             BatchGenerator g = new BatchGenerator(a.transformer(), a.tokenizer()::decode, 1, 64, 64)) {
            bank.checkAnchor(a.weights().identity());
            assertThat(a.fingerprint()).isEqualTo(run.fingerprint());
            List<MemoryBlock> blocks = new ArrayList<>();
            for (BlockId id : bank.blocksFor(MemoryPath.parse(run.referencePath()))) blocks.add(bank.load(id, m).retain());
            String probe = dev.hmem.training.corpus.Corpus.load(run.corpusDir()).facts().get(0).probe();
            g.submit(new GenerationRequest("r", a.tokenizer().encode(probe), SamplingParams.greedy(8).withIgnoreEos(true),
                    blocks, run.referencePath()));
            Completion c = null;
            while (!g.isIdle()) for (Completion done : g.step()) c = done;
            assertThat(c.tokens()).containsExactly(run.reference());
        }
    }

    @Test
    void interruptedTrainingResumesToTheSameWeights(@TempDir Path dir) throws Exception {
        TrainConfig c = TrainConfigs.micro(1);
        try (Trainer t = new Trainer(c, QUIET)) {
            t.interruptAfter(40);  // mid stage 2
            assertThatThrownBy(() -> t.run(dir, CorpusBuilder.PROSE_DIR)).isInstanceOf(Trainer.Interrupted.class);
        }
        assertThat(dir.resolve("checkpoint/state.json")).exists();
        Trainer.Result resumed;
        try (Trainer t = new Trainer(c, QUIET)) {
            resumed = t.run(dir, CorpusBuilder.PROSE_DIR);
        }
        assertThat(resumed.fingerprint()).as("bit-identical weights after resuming").isEqualTo(run.fingerprint());
        assertThat(resumed.exposures()).containsExactly(run.exposures());
        assertThat(dir.resolve("checkpoint")).doesNotExist();
    }

    @Test
    void postHocMemoriesLeaveTheAnchorUntouched(@TempDir Path dir) throws Exception {
        Trainer.Result r;
        try (Trainer t = new Trainer(TrainConfigs.micro(2), QUIET)) {
            r = t.postHoc(run.modelDir(), dir, CorpusBuilder.PROSE_DIR);
        }
        // Same anchor bytes, so the same fingerprint; a new bank trained for it.
        assertThat(r.fingerprint()).isEqualTo(run.fingerprint());
        assertThat(r.blockUpdates()).isNotEmpty();
        assertThat(r.losses()).allMatch(l -> l[0] == 2);
        try (Anchor a = Anchor.load(r.modelDir()); MemoryBank b = MemoryBank.open(r.bankDir())) {
            b.checkAnchor(a.weights().identity());
        }
    }

    @Test
    void corruptOrMismatchedAnchorAndBankAreRefused(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(run.modelDir().resolve(f), model.resolve(f));
        }
        long offset;
        try (SafeTensorsFile f = SafeTensorsFile.open(model.resolve("model.safetensors"))) {
            offset = f.dataStart() + f.info("model.layers.1.mlp.gate_proj.weight").begin() + 40;
        }
        try (RandomAccessFile raf = new RandomAccessFile(model.resolve("model.safetensors").toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x40);
        }
        assertThatThrownBy(() -> Anchor.load(model)).hasMessageContaining("model.layers.1.mlp.gate_proj.weight")
                .hasMessageContaining("corrupt");
        // The untouched trained anchor, paired with a bank trained for other weights:
        try (Anchor a = Anchor.load(run.modelDir()); MemoryBank b = MemoryBank.open(run.bankDir())) {
            b.checkAnchor(a.weights().identity());
            Path otherBank = dir.resolve("other-bank");
            dev.hmem.training.bank.RandomBank.create(otherBank, new dev.hmem.runtime.bank.BankManifest.Anchor(
                    "0123456789abcdef", a.config().hiddenSize(), a.config().numLayers()), 4, 2, new int[] {4, 4}, 0,
                    dev.hmem.runtime.io.DType.F32, false, 1);
            try (MemoryBank other = MemoryBank.open(otherBank)) {
                assertThatThrownBy(() -> other.checkAnchor(a.weights().identity())).isInstanceOf(BankException.class)
                        .hasMessageContaining("0123456789abcdef").hasMessageContaining(a.fingerprint());
            }
        }
    }
}
