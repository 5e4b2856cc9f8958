package dev.hmem.operators.memory;

import dev.hmem.runtime.bank.LocalBlockStore;
import dev.hmem.runtime.bank.MemoryBank;
import java.io.IOException;

/** Opens a bank from a local path or a Flink file system URI (positioned reads either way, one block at a time). */
public final class BankStores {

    private BankStores() {}

    public static MemoryBank open(String location) throws IOException {
        if (Locations.isLocal(location)) return MemoryBank.open(new LocalBlockStore(Locations.localPath(location)));
        return MemoryBank.open(new FlinkFileSystemBlockStore(location));
    }
}
