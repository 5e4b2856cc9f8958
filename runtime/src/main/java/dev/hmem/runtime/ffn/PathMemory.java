package dev.hmem.runtime.ffn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.hmem.runtime.bank.FfnMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory of one path as a single FFN memory: its blocks concatenated along the neuron axis
 * (gate rows of every block, then up rows; down rows likewise), which is exactly the paper's
 * definition of the fetched memory. Built once when a path enters a batch, so each decode step
 * runs one memory branch per distinct path instead of one per block: fewer, larger matrix
 * multiplies, which is what a CPU wants.
 */
public final class PathMemory implements FfnMemory, AutoCloseable {

    private final NDManager manager;
    private final NDArray[] gateUp;  // (L)(2R, d)
    private final NDArray[] downT;   // (L)(R, d)
    private final int neurons;

    public PathMemory(List<? extends FfnMemory> blocks, int layers, NDManager parent) {
        if (blocks.isEmpty()) throw new IllegalArgumentException("a path memory needs at least one block");
        this.manager = parent.newSubManager();
        int r = 0;
        for (FfnMemory b : blocks) r += b.neurons();
        this.neurons = r;
        gateUp = new NDArray[layers];
        downT = new NDArray[layers];
        for (int l = 0; l < layers; l++) {
            List<NDArray> gates = new ArrayList<>(), ups = new ArrayList<>(), downs = new ArrayList<>();
            for (FfnMemory b : blocks) {
                int rb = b.neurons();
                gates.add(b.gateUp(l).get("0:{}", rb));
                ups.add(b.gateUp(l).get("{}:", rb));
                downs.add(b.downT(l));
            }
            List<NDArray> gu = new ArrayList<>(gates);
            gu.addAll(ups);
            gateUp[l] = NDArrays.concat(new NDList(gu), 0);
            downT[l] = NDArrays.concat(new NDList(downs), 0);
            gateUp[l].attach(manager);
            downT[l].attach(manager);
            // Built during a generator step: keep them out of the step's scope.
            ai.djl.ndarray.NDScope.unregister(gateUp[l], downT[l]);
            for (NDArray a : gates) a.close();
            for (NDArray a : ups) a.close();
        }
    }

    @Override
    public int neurons() {
        return neurons;
    }

    @Override
    public NDArray gateUp(int layer) {
        return gateUp[layer];
    }

    @Override
    public NDArray downT(int layer) {
        return downT[layer];
    }

    /** Native bytes held. */
    public long bytes() {
        return 3L * neurons * gateUp[0].getShape().get(1) * gateUp.length * 4;
    }

    @Override
    public void close() {
        manager.close();
    }
}
