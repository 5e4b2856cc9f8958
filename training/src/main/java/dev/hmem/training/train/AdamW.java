package dev.hmem.training.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.HashMap;
import java.util.Map;

/**
 * AdamW (β 0.9/0.95 as in PAPER.md) with decoupled weight decay and a step count per parameter,
 * so a memory block updated only when its cluster is sampled gets correct bias correction, and a
 * block not in the batch is not touched at all — not even by weight decay.
 */
final class AdamW implements AutoCloseable {

    static final double BETA1 = 0.9, BETA2 = 0.95, EPS = 1e-8;

    /** Moments of one parameter. */
    static final class Slot {
        NDArray m, v;
        long t;
    }

    private final NDManager manager;
    final Map<String, Slot> slots = new HashMap<>();

    AdamW(NDManager parent) {
        this.manager = parent.newSubManager();
    }

    Slot slot(String name, NDArray like) {
        return slots.computeIfAbsent(name, k -> {
            Slot s = new Slot();
            s.m = manager.zeros(like.getShape());
            s.v = manager.zeros(like.getShape());
            NDScope.unregister(s.m, s.v);
            return s;
        });
    }

    /** One update of {@code param} in place (call outside gradient recording). */
    void update(String name, NDArray param, NDArray grad, double lr, double wd) {
        Slot s = slot(name, param);
        s.t++;
        s.m.muli(BETA1).addi(grad.mul(1 - BETA1));
        s.v.muli(BETA2).addi(grad.square().muli(1 - BETA2));
        double bc1 = 1 - Math.pow(BETA1, s.t), bc2 = 1 - Math.pow(BETA2, s.t);
        if (wd > 0) param.muli(1 - lr * wd);
        NDArray denom = s.v.div(bc2).sqrt().addi(EPS);
        param.subi(s.m.div(denom).muli(lr / bc1));
    }

    NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }
}
