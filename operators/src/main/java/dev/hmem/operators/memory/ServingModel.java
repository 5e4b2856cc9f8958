package dev.hmem.operators.memory;

import dev.hmem.operators.engine.EngineMetrics;
import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.tensor.TorchThreads;
import java.io.IOException;

/**
 * The anchor and bank one generation engine serves, opened as the serving configuration says and checked to belong
 * together (a bank only works with the exact anchor it was trained with): the one place an engine is opened, for the
 * generate operator and the engine-alone benchmark alike. Closing it frees the bank, then the anchor; close the engine
 * first.
 */
public final class ServingModel implements AutoCloseable {

    private final ServingConfig config;
    private final Anchor anchor;
    private final SharedBanks.Lease lease;
    private final MemoryBank bank;

    private ServingModel(ServingConfig config, Anchor anchor, SharedBanks.Lease lease) {
        this.config = config;
        this.anchor = anchor;
        this.lease = lease;
        this.bank = lease == null ? null : lease.bank();
    }

    /** Sizes PyTorch's pool to {@code --torch-threads}, loads the anchor, opens and checks the bank. */
    public static ServingModel open(ServingConfig config) throws IOException {
        TorchThreads.set(config.torchThreads());
        Anchor anchor = Anchor.load(LocalCopies.of(config.modelDir()));  // s3:// and the like: copied to this machine once
        SharedBanks.Lease lease = null;
        try {
            if (config.bankDir() != null) {
                lease = SharedBanks.acquire(config.bankDir());  // one open bank per TaskManager, shared by its subtasks
                lease.bank().checkAnchor(anchor.weights().identity());
            }
            return new ServingModel(config, anchor, lease);
        } catch (IOException | RuntimeException e) {
            if (lease != null) lease.close();
            anchor.close();
            throw e;
        }
    }

    public Anchor anchor() {
        return anchor;
    }

    /** The bank, or null when the anchor serves alone. */
    public MemoryBank bank() {
        return bank;
    }

    /** An engine over this model (not started). */
    public GenerationEngine engine(EngineMetrics metrics, GenerationEngine.Listener listener, GenerationEngine.StepProbe probe,
                                   String threadName) {
        return new GenerationEngine(config, bank, anchor, metrics, listener, probe, threadName);
    }

    @Override
    public void close() throws IOException {
        try {
            if (lease != null) lease.close();
        } finally {
            anchor.close();
        }
    }
}
