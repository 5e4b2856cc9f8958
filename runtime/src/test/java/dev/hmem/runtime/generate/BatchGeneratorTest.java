package dev.hmem.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.tensor.WeightFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchGeneratorTest {

    @TempDir
    static Path tmp;
    static Anchor anchor;
    static MemoryBank bank;
    static ai.djl.ndarray.NDManager blocks;

    @BeforeAll
    static void setUp() throws Exception {
        anchor = Anchor.load(TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 11));
        TestModels.smallBank(tmp.resolve("bank"), anchor.weights(), false, 5);
        bank = MemoryBank.open(tmp.resolve("bank"));
        bank.checkAnchor(anchor.weights().identity());
        blocks = ai.djl.ndarray.NDManager.newBaseManager();
    }

    @AfterAll
    static void tearDown() throws Exception {
        bank.close();
        blocks.close();
        anchor.close();
    }

    BatchGenerator generator(int maxBatch) {
        return new BatchGenerator(anchor.transformer(), anchor.tokenizer()::decode, maxBatch, 128, 512);
    }

    /** Fresh, retained blocks of a path (the generator releases them). */
    static List<MemoryBlock> memory(String path) throws Exception {
        List<MemoryBlock> out = new ArrayList<>();
        if (path.equals("generic")) {
            out.add(bank.load(BlockId.GENERIC, blocks).retain());
        } else if (!path.equals("none")) {
            for (BlockId id : bank.blocksFor(MemoryPath.parse(path))) out.add(bank.load(id, blocks).retain());
        }
        return out;
    }

    static List<Completion> runAll(BatchGenerator g) {
        List<Completion> done = new ArrayList<>();
        int guard = 0;
        while (!g.isIdle()) {
            done.addAll(g.step());
            assertThat(++guard).as("generator must make progress").isLessThan(10_000);
        }
        return done;
    }

    static final String[] PROMPTS = {"The atomic number of", "Paris is", "A memory bank stores long-tail",
            "Streams of prompts", "Numbers such as", "The currency of Japan is the"};
    static final String[] PATHS = {"0.1", "0.2", "none", "3.3", "generic", "0.1"};

    @Test
    void batchWithMixedPathsEqualsEachPromptAlone() throws Exception {
        Map<String, Completion> alone = new HashMap<>();
        for (int i = 0; i < PROMPTS.length; i++) {
            try (BatchGenerator g = generator(1)) {
                g.submit(request("p" + i, PROMPTS[i], PATHS[i], SamplingParams.greedy(16).withIgnoreEos(true)));
                alone.put("p" + i, runAll(g).get(0));
            }
        }
        // Batch of 4 slots for 6 prompts: continuous batching admits the last two as others finish.
        try (BatchGenerator g = generator(4)) {
            for (int i = 0; i < PROMPTS.length; i++) {
                int max = 4 + 2 * i;  // different lengths so sequences leave at different steps
                g.submit(request("p" + i, PROMPTS[i], PATHS[i], SamplingParams.greedy(max).withIgnoreEos(true)));
            }
            List<Completion> done = runAll(g);
            assertThat(done).hasSize(PROMPTS.length);
            for (Completion c : done) {
                int i = Integer.parseInt(c.id().substring(1));
                // Each row must produce exactly its max tokens (EOS ignored), and those must be the
                // first tokens the prompt produces alone: a row that stopped early fails here.
                int[] expected = java.util.Arrays.copyOf(alone.get(c.id()).tokens(), 4 + 2 * i);
                assertThat(c.tokens()).as(c.id()).containsExactly(expected);
                assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(c.memoryLabel()).isEqualTo(PATHS[Integer.parseInt(c.id().substring(1))]);
            }
        }
    }

    @Test
    void javaDecodePathAnswersAsPyTorchDoes() throws Exception {
        // Up to three rows decode on the Java path, four through PyTorch: as sequences join
        // and leave, rows move between the two on one KV cache, and with sampling too.
        Map<String, Completion> reference = new HashMap<>();
        try (BatchGenerator g = generator(4)) {
            submitMixed(g);
            for (Completion c : runAll(g)) reference.put(c.id(), c);
        }
        try (BatchGenerator g = generator(4).javaDecode(anchor.transformer().javaDecoder(1, WeightFormat.F32, GeneratorSettings.DEFAULTS.javaBlockCopyBytes()), 3)) {
            submitMixed(g);
            List<Completion> done = runAll(g);
            assertThat(done).hasSize(2 * PROMPTS.length);
            assertThat(g.javaDecodeSteps()).as("steps on the Java path").isPositive();
            for (Completion c : done) {
                assertThat(c.tokens()).as(c.id()).containsExactly(reference.get(c.id()).tokens());
                assertThat(c.finishReason()).isEqualTo(reference.get(c.id()).finishReason());
            }
        }
    }

    private static void submitMixed(BatchGenerator g) throws Exception {
        for (int i = 0; i < PROMPTS.length; i++) {
            g.submit(request("g" + i, PROMPTS[i], PATHS[i], SamplingParams.greedy(3 + 3 * i).withIgnoreEos(true)));
            g.submit(request("s" + i, PROMPTS[i], PATHS[(i + 1) % PATHS.length],
                    new SamplingParams(20 - 2 * i, 0.8, 40, 0.9, 5L + i, List.of(), true)));
        }
    }

    @Test
    void memoryChangesTheAnswer() throws Exception {
        try (BatchGenerator g = generator(2)) {
            g.submit(request("plain", PROMPTS[0], "none", SamplingParams.greedy(16).withIgnoreEos(true)));
            g.submit(request("mem", PROMPTS[0], "2.3", SamplingParams.greedy(16).withIgnoreEos(true)));
            Map<String, int[]> out = new HashMap<>();
            for (Completion c : runAll(g)) out.put(c.id(), c.tokens());
            assertThat(out.get("mem")).isNotEqualTo(out.get("plain"));
        }
    }

    @Test
    void sameSeedGivesSameTextAndSeedsDiffer() throws Exception {
        SamplingParams p = new SamplingParams(24, 1.0, 50, 0.95, 1234L, List.of(), true);
        String a = generateOne(p), b = generateOne(p);
        assertThat(a).isEqualTo(b);
        List<String> others = new ArrayList<>();
        for (long s = 1; s <= 3; s++) others.add(generateOne(p.withSeed(s)));
        assertThat(others).anyMatch(o -> !o.equals(a));
    }

    @Test
    void topKOfOneIsGreedy() throws Exception {
        String greedy = generateOne(SamplingParams.greedy(16).withIgnoreEos(true));
        String topK1 = generateOne(new SamplingParams(16, 0.7, 1, 1.0, 99L, List.of(), true));
        assertThat(topK1).isEqualTo(greedy);
    }

    @Test
    void stopStringCutsTheText() throws Exception {
        String full = generateOne(SamplingParams.greedy(30).withIgnoreEos(true));
        assertThat(full.length()).isGreaterThan(6);
        String stop = full.substring(4, 6);
        try (BatchGenerator g = generator(1)) {
            g.submit(request("s", PROMPTS[1], "none", new SamplingParams(30, 0, 0, 1, null, List.of(stop), true)));
            Completion c = runAll(g).get(0);
            assertThat(c.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(c.text()).isEqualTo(full.substring(0, full.indexOf(stop)));
        }
    }

    @Test
    void endOfSequenceTokenEndsGeneration() throws Exception {
        int[] free;
        try (BatchGenerator g = generator(1)) {
            g.submit(request("x", PROMPTS[2], "none", SamplingParams.greedy(8).withIgnoreEos(true)));
            free = runAll(g).get(0).tokens();
        }
        // The same weights with the third greedy token declared end-of-sequence stop right before it.
        int eos = free[2];
        Path copy = Files.createDirectories(tmp.resolve("eos-model"));
        for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Files.copy(anchor.dir().resolve(f), copy.resolve(f));
        }
        var cfg = com.google.gson.JsonParser.parseString(Files.readString(anchor.dir().resolve("config.json"))).getAsJsonObject();
        cfg.addProperty("eos_token_id", eos);
        Files.writeString(copy.resolve("config.json"), cfg.toString());
        try (Anchor a = Anchor.load(copy);
             BatchGenerator g = new BatchGenerator(a.transformer(), a.tokenizer()::decode, 1, 128, 512)) {
            g.submit(new GenerationRequest("x", a.tokenizer().encode(PROMPTS[2]), SamplingParams.greedy(8), List.of(), "none"));
            Completion c = runAll(g).get(0);
            int firstEos = 0;
            while (free[firstEos] != eos) firstEos++;
            assertThat(c.finishReason()).isEqualTo(FinishReason.EOS);
            assertThat(c.tokens()).containsExactly(java.util.Arrays.copyOf(free, firstEos));
        }
    }

    @Test
    void overLongPromptIsAClearError() {
        try (BatchGenerator g = generator(1)) {
            int[] prompt = new int[128];
            assertThatThrownBy(() -> g.submit(GenerationRequest.plain("long", prompt, SamplingParams.greedy(4))))
                    .isInstanceOf(PromptTooLongException.class)
                    .hasMessageContaining("128 tokens").hasMessageContaining("context holds 128");
            assertThatThrownBy(() -> g.submit(GenerationRequest.plain("empty", new int[0], SamplingParams.greedy(4))))
                    .hasMessageContaining("empty");
            assertThatThrownBy(() -> g.submit(GenerationRequest.plain("bad", new int[] {1, 99999}, SamplingParams.greedy(4))))
                    .hasMessageContaining("99999").hasMessageContaining("vocabulary");
            assertThat(g.isIdle()).isTrue();
        }
    }

    @Test
    void generationStopsWhenTheContextIsFull() {
        try (BatchGenerator g = generator(1)) {
            g.submit(GenerationRequest.plain("near", new int[120], SamplingParams.greedy(100).withIgnoreEos(true)));
            Completion c = runAll(g).get(0);
            assertThat(c.finishReason()).as("cut by the context, not the request's limit").isEqualTo(FinishReason.CONTEXT);
            assertThat(c.promptTokens() + c.tokens().length).isLessThanOrEqualTo(128);
            assertThat(c.tokens().length).isLessThan(100);
        }
        try (BatchGenerator g = generator(1)) {
            // Exactly as many as fit: the request is honoured, so the reason is its own limit.
            g.submit(GenerationRequest.plain("fits", new int[100], SamplingParams.greedy(20).withIgnoreEos(true)));
            Completion c = runAll(g).get(0);
            assertThat(c.tokens()).hasSize(20);
            assertThat(c.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void invalidSamplingParametersAreRefusedWithTheirName() {
        assertThatThrownBy(() -> new SamplingParams(0, 0, 0, 1, null, null, false)).hasMessageContaining("max_new_tokens");
        assertThatThrownBy(() -> new SamplingParams(5, -1, 0, 1, null, null, false)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingParams(5, 1, -2, 1, null, null, false)).hasMessageContaining("top_k");
        assertThatThrownBy(() -> new SamplingParams(5, 1, 0, 0, null, null, false)).hasMessageContaining("top_p");
        assertThatThrownBy(() -> new SamplingParams(5, 1, 0, 1, null, List.of(""), false)).hasMessageContaining("stop");
    }

    @Test
    void blocksAreReleasedWhenSequencesFinish() throws Exception {
        List<MemoryBlock> mem = memory("1.2");
        try (BatchGenerator g = generator(1)) {
            g.submit(new GenerationRequest("r", anchor.tokenizer().encode("Paris"), SamplingParams.greedy(3), mem, "1.2"));
            for (MemoryBlock b : mem) assertThat(b.users()).isEqualTo(1);
            runAll(g);
        }
        for (MemoryBlock b : mem) {
            assertThat(b.users()).isZero();
            b.evict();
            assertThat(b.isFreed()).isTrue();
        }
    }

    @Test
    void aFullBatchGroupsAdmissionsUntilAQuarterIsFreeOrTheDelayPasses() {
        try (BatchGenerator g = generator(8).prefillGrouping(2, 60_000)) {
            // Eight rows finishing one per step (max new tokens 2, 3, ... 9; a step's prefill and decode give 2 tokens).
            for (int i = 0; i < 8; i++) {
                g.submit(GenerationRequest.plain("r" + i, new int[] {5, 6, 7}, SamplingParams.greedy(2 + i).withIgnoreEos(true)));
            }
            g.submit(GenerationRequest.plain("late", new int[] {8, 9}, SamplingParams.greedy(2).withIgnoreEos(true)));
            g.step();  // an empty batch admits at once: all eight prefilled; r0 finishes
            assertThat(g.lastStep().prefillRows()).isEqualTo(8);
            assertThat(g.runningCount()).isEqualTo(7);
            g.step();  // one free slot, fewer than the group of 2: no prefill; r1 finishes
            assertThat(g.lastStep().prefillRows()).isZero();
            assertThat(g.runningCount()).isEqualTo(6);
            assertThat(g.waitingCount()).isEqualTo(1);
            g.step();  // two free: "late" joins
            assertThat(g.lastStep().prefillRows()).isEqualTo(1);
            assertThat(g.waitingCount()).isZero();
        }
        try (BatchGenerator g = generator(8).prefillGrouping(2, 0)) {
            for (int i = 0; i < 8; i++) {
                g.submit(GenerationRequest.plain("r" + i, new int[] {5, 6, 7}, SamplingParams.greedy(2 + i).withIgnoreEos(true)));
            }
            g.submit(GenerationRequest.plain("late", new int[] {8, 9}, SamplingParams.greedy(2).withIgnoreEos(true)));
            g.step();  // r0 finishes
            g.step();  // a zero delay admits on the single free slot
            assertThat(g.lastStep().prefillRows()).isEqualTo(1);
        }
    }

    @Test
    void invalidPrefillGroupingIsRefused() {
        try (BatchGenerator g = generator(4)) {
            assertThatThrownBy(() -> g.prefillGrouping(0, 10)).hasMessageContaining("min free slots");
            assertThatThrownBy(() -> g.prefillGrouping(1, -1)).hasMessageContaining("max delay");
        }
    }

    String generateOne(SamplingParams p) throws Exception {
        try (BatchGenerator g = generator(1)) {
            g.submit(request("one", PROMPTS[1], "none", p));
            return runAll(g).get(0).text();
        }
    }

    static GenerationRequest request(String id, String prompt, String path, SamplingParams p) throws Exception {
        return new GenerationRequest(id, anchor.tokenizer().encode(prompt), p, memory(path), path);
    }
}
