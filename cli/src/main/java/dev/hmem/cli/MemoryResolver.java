package dev.hmem.cli;

import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryBlock;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.runtime.router.Router;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * For the offline commands: turns a prompt into its memory (forced path, routed path, generic or
 * none) and loads each block once per process. The streaming job has its own byte-budgeted cache.
 */
final class MemoryResolver implements AutoCloseable {

    record Resolved(List<MemoryBlock> blocks, String label) {}

    private final MemoryBank bank;
    private final NDManager manager = NDManager.newBaseManager();
    private final Map<BlockId, MemoryBlock> loaded = new HashMap<>();
    private Router router;

    MemoryResolver(MemoryBank bank, Anchor anchor) {
        this.bank = bank;
        if (bank != null) bank.checkAnchor(anchor.weights().identity());
    }

    /** The path of each prompt: forced, routed, or null (no memory / generic). */
    List<MemoryPath> paths(List<String> prompts, String forced, boolean none, boolean generic) throws IOException {
        if (bank == null || none || generic) {
            if (forced != null || generic) requireBank();
            return Collections.nCopies(prompts.size(), null);
        }
        if (forced != null) {
            return Collections.nCopies(prompts.size(), bank.validate(MemoryPath.parse(forced)));
        }
        if (router == null) router = new Router(MiniLmEmbedder.load(0), bank.tree());
        return router.route(prompts);
    }

    private void requireBank() {
        if (bank == null) throw new IllegalArgumentException("--memory-path and --generic-memory need --bank");
    }

    /** Retained blocks for one request (the generator releases them). */
    Resolved resolve(MemoryPath path, boolean generic) throws IOException {
        if (generic) return new Resolved(List.of(block(BlockId.GENERIC).retain()), "generic");
        if (path == null) return new Resolved(List.of(), "none");
        List<MemoryBlock> blocks = new ArrayList<>();
        for (BlockId id : bank.blocksFor(path)) blocks.add(block(id).retain());
        return new Resolved(blocks, path.toString());
    }

    private MemoryBlock block(BlockId id) throws IOException {
        MemoryBlock b = loaded.get(id);
        if (b == null) {
            b = bank.load(id, manager);
            loaded.put(id, b);
        }
        return b;
    }

    @Override
    public void close() {
        if (router != null) router.close();
        manager.close();
    }
}
