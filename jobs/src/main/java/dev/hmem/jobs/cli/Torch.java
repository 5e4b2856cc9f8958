package dev.hmem.jobs.cli;

import ai.djl.pytorch.jni.JniUtils;

/** PyTorch's thread pools are process-wide; commands size them once, before any work. */
final class Torch {

    private Torch() {}

    static void threads(int intraOp) {
        if (intraOp > 0) {
            JniUtils.setNumInteropThreads(1);
            JniUtils.setNumThreads(intraOp);
        }
    }
}
