package dev.hmem.operators.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.hmem.operators.memory.BankStores;
import dev.hmem.operators.memory.FlinkFileSystemBlockStore;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.bank.BankException;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bank read through Flink's file systems (here file://) is the same bank, checksums included. */
class BankStoresTest {

    @Test
    void flinkFileSystemStoreReadsTheSameBlocksAndChecksThem(@TempDir Path dir) throws Exception {
        try (AnchorWeights w = AnchorWeights.random(TestModels.tinyConfig(300, 298, 299), 1)) {
            TestModels.smallBank(dir, w, false, 3);
        }
        BlockId id = new BlockId(MemoryPath.parse("2.3"));
        try (NDManager m = NDManager.newBaseManager();
             MemoryBank local = BankStores.open(dir.toString());
             MemoryBank remote = MemoryBank.open(new FlinkFileSystemBlockStore(dir.toUri().toString()))) {
            assertThat(remote.store().location()).startsWith("file:");
            assertThat(remote.load(id, m).data().toFloatArray()).containsExactly(local.load(id, m).data().toFloatArray());
            assertThat(remote.tree().depth()).isEqualTo(2);
        }
        long offset;
        try (MemoryBank b = MemoryBank.open(dir)) {
            offset = b.manifest().level(2).offsetOf(MemoryPath.parse("2.3").nodeIndex(4)) + 12;
        }
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve("level-2.safetensors").toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x7f);
        }
        try (NDManager m = NDManager.newBaseManager();
             MemoryBank remote = MemoryBank.open(new FlinkFileSystemBlockStore(dir.toUri().toString()))) {
            assertThatThrownBy(() -> remote.load(id, m)).isInstanceOf(BankException.class).hasMessageContaining("2.3");
        }
    }
}
