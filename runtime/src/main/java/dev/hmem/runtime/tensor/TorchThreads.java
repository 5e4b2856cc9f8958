package dev.hmem.runtime.tensor;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's intra-op thread pool, which is one per process: the only place hmem sizes it. A Flink TaskManager runs
 * several generate subtasks in one JVM, each meant to keep one core busy, so the job sets it once to its
 * {@code --torch-threads}; a process running one generator may instead let the generator size it per step.
 */
public final class TorchThreads {

    private TorchThreads() {}

    /** Sets the pool to {@code threads}, loading the native library first if this is the process's first PyTorch call. */
    public static void set(int threads) {
        if (threads < 1) throw new IllegalArgumentException("PyTorch threads must be >= 1, got " + threads);
        Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(threads);
    }
}
