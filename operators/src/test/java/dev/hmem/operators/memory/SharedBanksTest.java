package dev.hmem.operators.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BlockId;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One open bank per location per JVM, shared by its subtasks, closed with its last holder. */
class SharedBanksTest {

    @Test
    void subtasksShareOneOpenBankUntilTheLastLetsGo(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("bank");
        TestModels.randomBank(dir, new BankManifest.Anchor("shared", 8, 1), 4, 2, new int[] {4, 2}, 0, dev.hmem.runtime.io.DType.F32, false, 5);
        String where = dir.toString();
        SharedBanks.Lease a = SharedBanks.acquire(where), b = SharedBanks.acquire(where);
        assertThat(b.bank()).isSameAs(a.bank());
        assertThat(SharedBanks.holders(where)).isEqualTo(2);
        a.close();
        a.close();  // a second close of one lease does not take another holder's share
        assertThat(SharedBanks.holders(where)).isEqualTo(1);
        BlockId leaf = b.bank().allBlocks().get(b.bank().allBlocks().size() - 1);
        assertThat(b.bank().readVerified(leaf).remaining()).isPositive();  // still open for the other holder
        b.close();
        assertThat(SharedBanks.holders(where)).isZero();
        try (SharedBanks.Lease c = SharedBanks.acquire(where)) {
            assertThat(c.bank()).isNotSameAs(a.bank());  // opened afresh once nobody held it
        }
        assertThatThrownBy(() -> SharedBanks.acquire(tmp.resolve("none").toString())).hasMessageContaining("is not a memory bank");
        assertThat(SharedBanks.holders(tmp.resolve("none").toString())).isZero();
    }
}
