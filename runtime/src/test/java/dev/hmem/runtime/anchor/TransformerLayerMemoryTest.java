package dev.hmem.runtime.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.ffn.MemoryPlan;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A cached forward pass (prefill and PyTorch decode) frees each layer's intermediates when the layer ends: what it
 * leaves in memory does not grow with the number of layers, so a long prompt on a deep anchor needs one layer's
 * activations, not all of them. The logits are those of the full recomputation (no intermediate closed too early).
 */
class TransformerLayerMemoryTest {

    @Test
    void arraysLeftByACachedForwardDoNotGrowWithDepthAndItsLogitsAreUnchanged() throws Exception {
        int shallow = leftOver(2), deep = leftOver(12);
        assertThat(deep - shallow).as("arrays left by 12 layers beyond those left by 2 (%d)", shallow).isLessThanOrEqualTo(2);
    }

    /** Arrays still open (on the step's manager and the weights') after one cached forward of two 24-token prompts with memory. */
    private static int leftOver(int layers) throws Exception {
        ModelConfig t = TestModels.tinyConfig(300, 298, 299);
        ModelConfig c = new ModelConfig(t.vocabSize(), t.hiddenSize(), t.intermediateSize(), layers, t.numHeads(), t.numKvHeads(),
                t.headDim(), t.maxPositions(), t.ropeTheta(), t.ropeScaling(), t.rmsNormEps(), t.tieWordEmbeddings(),
                t.bosTokenId(), t.eosTokenIds());
        try (AnchorWeights w = AnchorWeights.random(c, 3); Transformer model = new Transformer(w);
             NDManager base = NDManager.newBaseManager()) {
            MemoryBlock block = new MemoryBlock(new BlockId(MemoryPath.parse("1")),
                    base.randomNormal(0, 0.05f, new Shape(layers, 3, 8, c.hiddenSize()), ai.djl.ndarray.types.DataType.FLOAT32));
            long[] tokens = new long[2 * 24];
            for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 37 + 11) % 290;
            int open;
            float[] cached;
            try (KvCache cache = new KvCache(c, 2, 64, base); NDScope step = new NDScope(); NDManager m = base.newSubManager()) {
                MemoryPlan plan = MemoryPlan.of(List.of(List.of(block), List.of(block)), m);
                // Results land on the manager of an operation's first operand, the weights' (the embedding lookup).
                int before = open(m) + open(w.manager);
                NDArray logits = model.forwardCached(m.create(tokens, new Shape(2, 24)), new int[2], new int[] {24, 24}, plan, cache, 0);
                open = open(m) + open(w.manager) - before;
                cached = logits.get("1").toFloatArray();
                step.suppressNotUsedWarning();
            }
            try (NDManager m = base.newSubManager()) {
                NDArray full = model.forwardFull(m.create(tokens, new Shape(2, 24)), MemoryPlan.of(List.of(List.of(block), List.of(block)), m));
                float[] expected = full.get("1, -1").toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    assertThat(cached[i]).as("logit %d, %d layers", i, layers).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4f));
                }
            }
            return open;
        }
    }

    /** Resources attached to {@code m} right now (DJL keeps arrays in its resource map until they are closed). */
    private static int open(NDManager m) throws Exception {
        var f = BaseNDManager.class.getDeclaredField("resources");
        f.setAccessible(true);
        return ((Map<?, ?>) f.get(m)).size();
    }
}
