package dev.hmem.training.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.runtime.config.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A baseline's shape, its matched budget and its refusal of data that is not the memory run's. */
class DenseBaselineTest {

    static final TrainConfig DEMO = TrainConfigs.demo(1);

    static DenseBaseline of(DenseBaseline.Kind k, String match, double factor) {
        return new DenseBaseline(k, match, factor, null);
    }

    @Test
    void sameTokensGivesTheMemoryRunsStepsAtAnyWidth() {
        // The demo memory run: 180 + 400 steps of 16 x 128 tokens = 1,187,840 tokens.
        long tokens = (long) (DEMO.anchorSteps() + DEMO.memorySteps()) * DEMO.batch() * DEMO.seqLen();
        assertThat(tokens).isEqualTo(1_187_840);
        for (DenseBaseline.Kind k : DenseBaseline.Kind.values()) {
            assertThat(of(k, "tokens", 1).steps(tokens, 3e13, 2048, 1e12)).isEqualTo(580);
            assertThat(of(k, "tokens", 2).steps(tokens, 3e13, 2048, 1e12)).isEqualTo(1160);
            assertThat(of(k, "tokens", 0.5).steps(tokens, 3e13, 2048, 1e12)).isEqualTo(290);
        }
    }

    @Test
    void sameFlopsGivesTheStepsThatCostWhatTheMemoryRunCost() {
        // Property: whole steps, never more compute than the memory run, less than one step short.
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 1000; i++) {
            double memFlops = 1e12 + r.nextDouble() * 1e15, perStep = 1e9 + r.nextDouble() * 1e11;
            int steps = of(DenseBaseline.Kind.SCALED, "flops", 1).steps(1, memFlops, 1, perStep);
            assertThat(steps * perStep).isLessThanOrEqualTo(memFlops * (1 + 1e-12));
            assertThat((steps + 1) * perStep).isGreaterThan(memFlops);
        }
        // The demo's dense 2x baseline at its own per-step cost: the count the old FLOP-matched row used.
        ModelConfig mc = of(DenseBaseline.Kind.SCALED, "flops", 1).shape(DEMO, 2048, 0, 1);
        double perStep = TrainingCompute.train(mc, 1, DEMO.batch(), DEMO.seqLen(), 0);
        assertThat(of(DenseBaseline.Kind.SCALED, "flops", 1).steps(0, 301.5 * perStep, 2048, perStep)).isEqualTo(301);
    }

    @Test
    void theWidenedAnchorAddsExactlyTheFetchedNeuronsToItsFfn() {
        ModelConfig w = of(DenseBaseline.Kind.WIDENED, "tokens", 1).shape(DEMO, 2048, 0, 1);
        assertThat(w.hiddenSize()).isEqualTo(DEMO.hidden());
        assertThat(w.intermediateSize()).isEqualTo(DEMO.ffn() + 128 + 64);
        assertThat(w.numLayers()).isEqualTo(DEMO.layers());
        ModelConfig d = of(DenseBaseline.Kind.SCALED, "tokens", 1).shape(DEMO, 2048, 0, 1);
        // 256 x 1.5 = 384 (a multiple of 2 x 4 heads), 768 x 1.5 = 1,152: about 2.1x the parameters.
        assertThat(d.hiddenSize()).isEqualTo(384);
        assertThat(d.intermediateSize()).isEqualTo(1152);
        assertThat(d.headDim() % 2).isZero();
    }

    @Test
    void refusesBadSpecs() {
        assertThatThrownBy(() -> of(DenseBaseline.Kind.SCALED, "time", 1)).hasMessageContaining("tokens or flops");
        assertThatThrownBy(() -> of(DenseBaseline.Kind.SCALED, "tokens", 0)).hasMessageContaining("steps factor");
        assertThatThrownBy(() -> new DenseBaseline(DenseBaseline.Kind.SCALED, "tokens", 1, 2.0)).hasMessageContaining("peak LR");
        assertThatThrownBy(() -> of(DenseBaseline.Kind.SCALED, "tokens", 1).steps(10, 0, 2048, 1)).hasMessageContaining("0 steps");
    }

    @Test
    void labelsSayWhatWasMatched() {
        assertThat(of(DenseBaseline.Kind.SCALED, "tokens", 1).label(2.144)).isEqualTo("dense 2.14×, same tokens");
        assertThat(new DenseBaseline(DenseBaseline.Kind.WIDENED, "flops", 2, 0.006).label(1.2))
                .isEqualTo("widened anchor, same FLOPs, 2× steps, LR 0.006");
    }

    @Test
    void refusesAMemoryRunOfAnotherSeedOrConfigurationOrWithoutABank(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("training.json"), "{\"config\":\"demo\",\"seed\":2,\"bank_parameters\":1,\"tokens\":1}");
        assertThatThrownBy(() -> DenseBaseline.memoryRun(dir, DEMO)).hasMessageContaining("seed 2").hasMessageContaining("--seed");
        assertThat(DenseBaseline.memoryRun(dir, TrainConfigs.demo(2)).get("tokens").getAsLong()).isEqualTo(1);
        assertThatThrownBy(() -> DenseBaseline.memoryRun(dir, TrainConfigs.micro(2))).hasMessageContaining("'micro'");
        Files.writeString(dir.resolve("training.json"), "{\"config\":\"demo\",\"seed\":1}");
        assertThatThrownBy(() -> DenseBaseline.memoryRun(dir, DEMO)).hasMessageContaining("not a memory run");
        assertThatThrownBy(() -> DenseBaseline.memoryRun(dir.resolve("none"), DEMO)).hasMessageContaining("no training.json");
    }

    @Test
    void anyChangeToTheCorpusOrTokenizerIsRefused(@TempDir Path dir) throws Exception {
        Path mem = dir.resolve("mem"), base = dir.resolve("base");
        for (Path run : new Path[] {mem, base}) {
            Files.createDirectories(run.resolve("corpus"));
            Files.createDirectories(run.resolve("model"));
            Files.writeString(run.resolve("corpus/facts.jsonl"), "{\"id\":0}\n{\"id\":1}\n");
            Files.writeString(run.resolve("corpus/heldout.jsonl"), "\"a paragraph\"\n");
            Files.writeString(run.resolve("model/tokenizer.json"), "{\"model\":{}}");
            Files.writeString(run.resolve("model/tokenizer_config.json"), "{}");
        }
        DenseBaseline.requireSameData(mem, base);
        // One byte of a corpus file, an extra file, a renamed file: each changes the digest.
        Files.writeString(base.resolve("corpus/heldout.jsonl"), "\"a paragraph!\"\n");
        assertThatThrownBy(() -> DenseBaseline.requireSameData(mem, base)).hasMessageContaining("corpus")
                .hasMessageContaining("differs");
        Files.writeString(base.resolve("corpus/heldout.jsonl"), "\"a paragraph\"\n");
        Files.writeString(base.resolve("corpus/extra.jsonl"), "");
        assertThatThrownBy(() -> DenseBaseline.requireSameData(mem, base)).hasMessageContaining("corpus");
        Files.move(base.resolve("corpus/extra.jsonl"), base.resolve("corpus/other.jsonl"));
        Files.delete(base.resolve("corpus/other.jsonl"));
        DenseBaseline.requireSameData(mem, base);
        Files.writeString(base.resolve("model/tokenizer_config.json"), "{\"bos\":1}");
        assertThatThrownBy(() -> DenseBaseline.requireSameData(mem, base)).hasMessageContaining("tokenizer");
    }
}
