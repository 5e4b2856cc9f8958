package dev.hmem.operators.memory;

import dev.hmem.operators.control.ServedVersion;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.config.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The checks a new serving version passes before anything serves with it: its tree routes MiniLM embeddings, it was
 * trained with its anchor's exact weights, and every block reads with its checksum. Routing and generating subtasks
 * run the same checks on the same files, so they refuse a damaged version alike; the old version serves meanwhile.
 * Reading every block costs one pass over the bank per subtask (seconds for the demo's, minutes for a bank of
 * gigabytes), in the background.
 */
public final class VersionCheck {

    private VersionCheck() {}

    /** Opens {@code v}'s bank and checks it against its anchor; the caller owns the bank. */
    public static MemoryBank open(ServedVersion v) throws IOException {
        MemoryBank bank = BankStores.open(v.bank());
        try {
            ClusterTree tree = bank.tree();
            if (!ClusterTree.MINILM.equals(tree.embeddingModel())) {
                throw new IOException("bank " + v.bank() + " routes " + tree.embeddingModel() + " embeddings, the job embeds with "
                        + ClusterTree.MINILM);
            }
            Path anchor = LocalCopies.of(v.anchor());
            try (AnchorWeights w = AnchorWeights.load(anchor, ModelConfig.load(anchor))) {
                bank.checkAnchor(w.identity());
            }
            for (BlockId id : bank.allBlocks()) bank.readVerified(id);
            return bank;
        } catch (IOException | RuntimeException e) {
            bank.close();
            throw e;
        }
    }

    /** The same checks, the bank closed again. */
    public static void check(ServedVersion v) throws IOException {
        open(v).close();
    }
}
