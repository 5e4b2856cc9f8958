package dev.hmem.cli;

import ai.djl.pytorch.jni.JniUtils;

/** PyTorch's thread pools are process-wide; commands size them once, before any work. */
final class Torch {

    private Torch() {}

    static void threads(int intraOp) {
        if (intraOp > 0) {
            ai.djl.engine.Engine.getEngine("PyTorch");  // loads the native library the calls below need
            JniUtils.setNumThreads(intraOp);
        }
    }
}
