package dev.hmem.operators.functions;

import dev.hmem.operators.control.ServedVersion;
import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.memory.ServingModel;
import dev.hmem.operators.records.PromptTask;
import java.util.ArrayList;
import java.util.List;

/**
 * One serving version on a generate subtask: loading (prompts routed with it wait), ready (its own model and
 * engine), or failed (why). {@code inUse} counts its accepted prompts without a result; an older version with none
 * is released. Task thread only.
 */
final class ServedEngine {

    final ServedVersion version;
    ServingModel model;
    GenerationEngine engine;
    String failure;
    /** Accepted while loading, in order: handed to the engine once it is up. */
    final List<PromptTask> waiting = new ArrayList<>();
    int inUse;
    /** Since when (epoch ms) no accepted prompt has needed it. */
    long idleSince = System.currentTimeMillis();
    /** The request id of the activate that named it, for status reports (null when a prompt named it first). */
    String requestId;

    ServedEngine(ServedVersion version) {
        this.version = version;
    }

    static String key(ServedVersion v) {
        return v.label() + "@" + v.seq();
    }

    boolean isLoading() {
        return engine == null && failure == null;
    }

    /** Stops the engine, then frees the model (the engine reads it until it has stopped). */
    void close() throws java.io.IOException {
        try {
            if (engine != null) engine.close();
        } finally {
            engine = null;
            if (model != null) model.close();
            model = null;
        }
    }
}
