package dev.hmem.it;

import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.generate.BatchGenerator;
import dev.hmem.runtime.generate.Completion;
import dev.hmem.runtime.generate.GenerationRequest;
import dev.hmem.runtime.generate.GeneratorSettings;
import dev.hmem.runtime.generate.SamplingParams;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.runtime.router.Router;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the job must answer, computed without it: the prompt routed by MiniLM through the bank's
 * tree, then generated greedily and alone by the offline generator with that path's blocks.
 */
final class OfflineAnswers implements AutoCloseable {

    /** The route and the greedy completion of one prompt. */
    record Answer(String path, int[] tokens, String text) {}

    private final Anchor anchor;
    private final MemoryBank bank;
    private final Router router;
    private final NDManager manager = NDManager.newBaseManager();
    private final Map<String, Answer> cache = new HashMap<>();

    OfflineAnswers(Path model, Path bank) throws Exception {
        this.anchor = Anchor.load(model);
        this.bank = MemoryBank.open(bank);
        this.router = new Router(MiniLmEmbedder.load(1), this.bank.tree());
    }

    /** The answer to {@code text} (routed unless {@code forcedPath} or {@code noMemory}). */
    Answer answer(String text, int maxNewTokens, String forcedPath, boolean noMemory) throws Exception {
        String key = text + "\u0000" + maxNewTokens + "\u0000" + forcedPath + "\u0000" + noMemory;
        Answer a = cache.get(key);
        if (a != null) return a;
        String path = noMemory ? "none" : forcedPath != null ? forcedPath : router.route(text).toString();
        List<MemoryBlock> blocks = new ArrayList<>();
        if (!path.equals("none")) {
            for (BlockId id : bank.blocksFor(MemoryPath.parse(path))) blocks.add(bank.load(id, manager).retain());
        }
        // One row at a time on the job's default decode path: rows do not depend on their neighbours.
        try (BatchGenerator g = GeneratorSettings.builder().maxBatch(1).context(128).maxPrefillTokens(512).build()
                .open(anchor.transformer(), anchor.tokenizer()::decode)) {
            g.submit(new GenerationRequest("x", anchor.tokenizer().encode(text), SamplingParams.greedy(maxNewTokens), blocks, path));
            Completion c = null;
            while (!g.isIdle()) for (Completion done : g.step()) c = done;
            a = new Answer(path, c.tokens(), c.text());
        }
        cache.put(key, a);
        return a;
    }

    @Override
    public void close() throws Exception {
        router.close();
        manager.close();
        bank.close();
        anchor.close();
    }
}
