package dev.hmem.training.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.hmem.runtime.config.ModelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The FLOP count that makes a baseline compute-matched, against a case worked by hand. */
class TrainingComputeTest {

    // vocab 10, d 8, FFN 16, 2 layers, 2 heads of 4, 1 KV head (GQA): q 8 + k 4 + v 4 = 16 wide.
    static final ModelConfig TINY = new ModelConfig(10, 8, 16, 2, 2, 1, 4, 32, 10000.0, null, 1e-5, true, 1, List.of(2));

    @Test
    void forwardCountsEveryMatrixTheTiedHeadAndAttentionSpans() {
        // Per layer: qkv 8x16 = 128, output 8x8 = 64, FFN 3x8x16 = 384 -> 576; two layers 1,152;
        // tied LM head 10x8 = 80 -> 1,232 weights. Attention: 2 (QK^T, AV) x 2 layers x 2 heads x 4
        // x mean causal span (7 + 1) / 2 = 128. Two FLOPs per weight or product: 2 x 1,360.
        assertThat(TrainingCompute.forwardPerToken(TINY, 7)).isCloseTo(2720, within(1e-9));
    }

    @Test
    void memoryNeuronsCostLikeFfnNeurons() {
        // 5 neurons: gate, up and down rows of width 8 in each of 2 layers, 2 FLOPs each.
        assertThat(TrainingCompute.memoryForwardPerToken(TINY, 5)).isCloseTo(480, within(1e-9));
        // The same as widening the FFN by 5: the widened-anchor control costs what the memory costs.
        ModelConfig wider = new ModelConfig(10, 8, 21, 2, 2, 1, 4, 32, 10000.0, null, 1e-5, true, 1, List.of(2));
        assertThat(TrainingCompute.forwardPerToken(wider, 7))
                .isCloseTo(TrainingCompute.forwardPerToken(TINY, 7) + TrainingCompute.memoryForwardPerToken(TINY, 5), within(1e-9));
    }

    @Test
    void aStepIsThreeForwardPassesOfItsTokens() {
        // 3 steps of 2 x 7 tokens, 5 memory neurons: 3 x (2,720 + 480) x 42.
        assertThat(TrainingCompute.train(TINY, 3, 2, 7, 5)).isCloseTo(403_200, within(1e-6));
        assertThat(TrainingCompute.train(TINY, 0, 2, 7, 5)).isZero();
    }
}
