package dev.hmem.runtime.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.ffn.MemoryPlan;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.io.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TransformerTest {

    static AnchorWeights weights;
    static Transformer model;
    static NDManager manager;
    static MemoryBlock blockA, blockB, blockC, zeroDown;

    @BeforeAll
    static void setUp() {
        weights = AnchorWeights.random(TestModels.tinyConfig(300, 298, 299), 7);
        model = new Transformer(weights);
        manager = NDManager.newBaseManager();
        blockA = block("1", 8, 1);
        blockB = block("1.2", 4, 2);
        blockC = block("1.3", 4, 3);
        NDArray z = manager.randomNormal(0, 0.02f, new Shape(2, 3, 8, 64), ai.djl.ndarray.types.DataType.FLOAT32);
        z.set(new ai.djl.ndarray.index.NDIndex(":, 2"), 0f);
        zeroDown = new MemoryBlock(new BlockId(MemoryPath.parse("0")), z);
    }

    static MemoryBlock block(String path, int r, long seed) {
        ai.djl.engine.Engine.getInstance().setRandomSeed((int) seed);
        NDArray data = manager.randomNormal(0, 0.05f, new Shape(2, 3, r, 64), ai.djl.ndarray.types.DataType.FLOAT32);
        return new MemoryBlock(new BlockId(MemoryPath.parse(path)), data);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        weights.close();
        manager.close();
    }

    static final int[] TOKENS = {5, 17, 42, 8, 99, 3, 250, 12, 77, 1};

    /** Logits of the last token of {@code tokens}, recomputed from scratch. */
    static float[] fullLast(int[] tokens, List<? extends dev.hmem.runtime.bank.FfnMemory> memory) {
        try (NDManager m = manager.newSubManager()) {
            long[] t = new long[tokens.length];
            for (int i = 0; i < t.length; i++) t[i] = tokens[i];
            MemoryPlan plan = MemoryPlan.of(List.of(memory), m);
            NDArray logits = model.forwardFull(m.create(t, new Shape(1, t.length)), plan);
            return logits.get("0, -1").toFloatArray();
        }
    }

    static float maxDiff(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }

    @Test
    void kvCacheDecodingEqualsFullRecomputation() {
        for (List<MemoryBlock> memory : List.of(List.<MemoryBlock>of(), List.of(blockA, blockB))) {
            try (NDManager m = manager.newSubManager(); KvCache cache = new KvCache(weights.config, 3, 64, m)) {
                int slot = 1;  // a slot other than 0 checks the slot offset arithmetic
                int prompt = 4;
                long[] first = new long[prompt];
                for (int i = 0; i < prompt; i++) first[i] = TOKENS[i];
                NDArray logits = model.forwardCached(m.create(first, new Shape(1, prompt)), new int[] {0},
                        new int[] {prompt}, MemoryPlan.of(List.of(memory), m), cache, slot);
                float[] expected = fullLast(java.util.Arrays.copyOf(TOKENS, prompt), memory);
                assertThat(maxDiff(logits.toFloatArray(), expected)).isLessThan(1e-4f);
                for (int pos = prompt; pos < TOKENS.length; pos++) {
                    NDArray step = model.forwardCached(m.create(new long[] {TOKENS[pos]}, new Shape(1, 1)),
                            new int[] {pos}, new int[] {1}, MemoryPlan.of(List.of(memory), m), cache, slot);
                    float[] full = fullLast(java.util.Arrays.copyOf(TOKENS, pos + 1), memory);
                    assertThat(maxDiff(step.toFloatArray(), full)).as("position %d", pos).isLessThan(1e-4f);
                }
            }
        }
    }

    @Test
    void zeroDownProjectionGivesExactlyTheAnchorLogits() {
        float[] anchor = fullLast(TOKENS, List.of());
        float[] withMemory = fullLast(TOKENS, List.of(zeroDown));
        assertThat(withMemory).containsExactly(anchor);
        // ... while a memory with a non-zero down projection does change them.
        assertThat(maxDiff(fullLast(TOKENS, List.of(blockA)), anchor)).isGreaterThan(1e-4f);
    }

    @Test
    void memoryBranchEqualsFfnWithConcatenatedWeights(@TempDir Path dir) throws Exception {
        List<MemoryBlock> memory = List.of(blockA, blockB);
        ModelConfig c = weights.config;
        int r = 8 + 4, f = c.intermediateSize();
        // A plain anchor whose SwiGLU is the anchor's widened by the memory neurons.
        Map<String, NDArray> tensors = new LinkedHashMap<>(weights.unfused());
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".mlp.";
            List<NDArray> gates = new ArrayList<>(List.of(tensors.get(p + "gate_proj.weight")));
            List<NDArray> ups = new ArrayList<>(List.of(tensors.get(p + "up_proj.weight")));
            List<NDArray> downs = new ArrayList<>(List.of(tensors.get(p + "down_proj.weight")));
            for (MemoryBlock b : memory) {
                int rb = b.neurons();
                gates.add(b.gateUp(l).get("0:{}", rb));
                ups.add(b.gateUp(l).get("{}:", rb));
                downs.add(b.downT(l).transpose());
            }
            tensors.put(p + "gate_proj.weight", ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(gates), 0));
            tensors.put(p + "up_proj.weight", ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(ups), 0));
            tensors.put(p + "down_proj.weight", ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(downs), 1));
        }
        ModelConfig wide = new ModelConfig(c.vocabSize(), c.hiddenSize(), f + r, c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.maxPositions(), c.ropeTheta(), null, c.rmsNormEps(),
                c.tieWordEmbeddings(), c.bosTokenId(), c.eosTokenIds());
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        tensors.forEach((name, arr) -> {
            entries.add(new SafeTensorsWriter.Entry(name, DType.F32, arr.getShape().getShape()));
            data.add(arr.toFloatArray());
        });
        SafeTensorsWriter.writeAll(dir.resolve("model.safetensors"), Map.of("format", "pt"), entries, data);
        wide.save(dir);

        try (AnchorWeights ww = AnchorWeights.load(dir, wide); Transformer wideModel = new Transformer(ww);
             NDManager m = manager.newSubManager()) {
            long[] t = new long[TOKENS.length];
            for (int i = 0; i < t.length; i++) t[i] = TOKENS[i];
            float[] expected = wideModel.forwardFull(m.create(t, new Shape(1, t.length)), MemoryPlan.EMPTY)
                    .get("0, -1").toFloatArray();
            assertThat(maxDiff(fullLast(TOKENS, memory), expected)).isLessThan(1e-4f);
        }
    }

    @Test
    void slabBranchEqualsPerBlockBranchAcrossSlotMoves() {
        MemoryBlock blockD = block("2", 8, 4), blockE = block("2.1", 4, 5);
        List<MemoryBlock> ab = List.of(blockA, blockB), ac = List.of(blockA, blockC), de = List.of(blockD, blockE);
        try (NDManager m = manager.newSubManager();
             dev.hmem.runtime.ffn.PathSlab slab = new dev.hmem.runtime.ffn.PathSlab(2, 12, 64, 3, m)) {
            slab.acquire(ab);
            slab.acquire(ac);
            slab.acquire(de);
            slab.release(ab);  // de moves into slot 0
            assertThat(slab.slotOf(de)).isZero();
            assertThat(slab.used()).isEqualTo(2);
            // de has three rows, ac two: de's third row goes through the overflow GEMM.
            List<List<MemoryBlock>> rows = List.of(de, ac, de, List.of(), ac, de);
            int[] slots = new int[rows.size()];
            for (int i = 0; i < slots.length; i++) slots[i] = rows.get(i).isEmpty() ? -1 : slab.slotOf(rows.get(i));
            long[] tok = new long[rows.size() * 4];
            for (int i = 0; i < tok.length; i++) tok[i] = TOKENS[i % TOKENS.length];
            NDArray input = m.create(tok, new Shape(rows.size(), 4));
            float[] viaSlab = model.forwardFull(input, dev.hmem.runtime.ffn.SlabPlan.of(slab, slots, m)).toFloatArray();
            float[] viaBlocks = model.forwardFull(input, MemoryPlan.of(rows, m)).toFloatArray();
            assertThat(maxDiff(viaSlab, viaBlocks)).isLessThan(1e-4f);
            // A batch using only slot 1 reads the slab through an index instead of a view.
            int[] onlyOne = {-1, slab.slotOf(ac)};
            NDArray two = m.create(java.util.Arrays.copyOf(tok, 8), new Shape(2, 4));
            float[] a = model.forwardFull(two, dev.hmem.runtime.ffn.SlabPlan.of(slab, onlyOne, m)).toFloatArray();
            float[] b = model.forwardFull(two, MemoryPlan.of(List.of(List.of(), ac), m)).toFloatArray();
            assertThat(maxDiff(a, b)).isLessThan(1e-4f);
        }
    }

    @Test
    void mixedPathBatchEqualsEachPromptAlone() {
        int[][] prompts = {{5, 17, 42, 8}, {99, 3}, {250, 12, 77, 1, 6, 9}, {40, 41, 42}, {7}};
        List<List<MemoryBlock>> memories = List.of(List.of(blockA, blockB), List.of(blockA, blockC), List.of(),
                List.of(blockA, blockB), List.of(zeroDown));
        int n = prompts.length, t = 6;
        try (NDManager m = manager.newSubManager(); KvCache batch = new KvCache(weights.config, n, 32, m)) {
            long[] tok = new long[n * t];
            int[] pos0 = new int[n], lens = new int[n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < prompts[i].length; j++) tok[i * t + j] = prompts[i][j];
                lens[i] = prompts[i].length;
            }
            float[] batched = model.forwardCached(m.create(tok, new Shape(n, t)), pos0, lens,
                    MemoryPlan.of(memories, m), batch, 0).toFloatArray();
            // One decode step for all rows together, each at its own position.
            long[] next = {11, 12, 13, 14, 15};
            int[] decodePos = lens.clone();
            float[] decoded = model.forwardCached(m.create(next, new Shape(n, 1)), decodePos, new int[] {1, 1, 1, 1, 1},
                    MemoryPlan.of(memories, m), batch, 0).toFloatArray();
            int v = weights.config.vocabSize();
            for (int i = 0; i < n; i++) {
                int[] alone = java.util.Arrays.copyOf(prompts[i], prompts[i].length + 1);
                float[] prefillAlone = fullLast(prompts[i], memories.get(i));
                alone[prompts[i].length] = (int) next[i];
                float[] decodeAlone = fullLast(alone, memories.get(i));
                assertThat(maxDiff(java.util.Arrays.copyOfRange(batched, i * v, (i + 1) * v), prefillAlone))
                        .as("prefill row %d", i).isLessThan(1e-4f);
                assertThat(maxDiff(java.util.Arrays.copyOfRange(decoded, i * v, (i + 1) * v), decodeAlone))
                        .as("decode row %d", i).isLessThan(1e-4f);
            }
        }
    }
}
