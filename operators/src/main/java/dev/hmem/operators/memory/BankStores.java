package dev.hmem.operators.memory;

import dev.hmem.runtime.bank.LocalBlockStore;
import dev.hmem.runtime.bank.MemoryBank;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;

/** Opens a bank from a local path or a Flink file system URI (positioned reads either way, one block at a time). */
public final class BankStores {

    private BankStores() {}

    public static MemoryBank open(String location) throws IOException {
        URI uri = URI.create(location);
        if (uri.getScheme() == null || uri.getScheme().equals("file")) {
            return MemoryBank.open(new LocalBlockStore(uri.getScheme() == null ? Path.of(location) : Path.of(uri)));
        }
        return MemoryBank.open(new FlinkFileSystemBlockStore(location));
    }
}
