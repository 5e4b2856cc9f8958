package dev.hmem.training.bank;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.runtime.Progress;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BankWriter;
import dev.hmem.runtime.bank.ClusterTree;
import dev.hmem.runtime.io.DType;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Building big random banks: an interrupted build resumes at the level it was in, and a full disk is refused up front. */
class RandomBankTest {

    static final BankManifest.Anchor ANCHOR = new BankManifest.Anchor("random-bank-test", 16, 2);
    static final int[] NEURONS = {8, 4, 2};

    static BankManifest build(Path dir) throws Exception {
        return RandomBank.create(dir, ANCHOR, 4, 3, NEURONS, 4, DType.BF16, false, 9);
    }

    /** What an interrupted build leaves: levels 1..upTo written completely, the next one cut off, no manifest. */
    static void interrupt(Path dir, int upTo, long cutAt) throws Exception {
        BankWriter w = new BankWriter(dir, ANCHOR, ClusterTree.random(4, 3, 384, 9), "random bank (seed 9)");
        for (int level = 1; level <= upTo; level++) {
            int lv = level;
            w.writeLevel(level, NEURONS[level - 1], DType.BF16, n -> RandomBank.block(ANCHOR, NEURONS[lv - 1], false, 9 * 1_000_003L + lv * 7919L + n),
                    Progress.silent(ClusterTree.nodes(4, level)));
        }
        Path next = dir.resolve(BankWriter.levelFile(upTo + 1));
        Files.write(next, new byte[(int) cutAt]);
    }

    @Test
    void anInterruptedBuildResumesToTheSameBank(@TempDir Path tmp) throws Exception {
        BankManifest whole = build(tmp.resolve("whole"));
        for (int upTo = 0; upTo <= 2; upTo++) {
            Path dir = tmp.resolve("resumed-" + upTo);
            interrupt(dir, upTo, 1000);
            long before = upTo >= 1 ? Files.getLastModifiedTime(dir.resolve(BankWriter.levelFile(1))).toMillis() : 0;
            Thread.sleep(20);
            BankManifest resumed = build(dir);
            assertThat(resumed.toJson()).isEqualTo(whole.toJson());
            for (int level = 1; level <= 3; level++) {
                assertThat(Files.mismatch(dir.resolve(BankWriter.levelFile(level)), tmp.resolve("whole").resolve(BankWriter.levelFile(level))))
                        .as("level %d after an interruption at %d", level, upTo + 1).isEqualTo(-1);
            }
            if (upTo >= 1) {
                assertThat(Files.getLastModifiedTime(dir.resolve(BankWriter.levelFile(1))).toMillis()).as("level 1 was kept").isEqualTo(before);
            }
            try (var s = Files.list(dir)) {
                assertThat(s.filter(p -> p.toString().endsWith(".done.json"))).as("completion records go once the manifest is written").isEmpty();
            }
        }
    }

    @Test
    void aLevelFileChangedSinceItsRecordIsWrittenAgain(@TempDir Path tmp) throws Exception {
        BankManifest whole = build(tmp.resolve("whole"));
        Path dir = tmp.resolve("b");
        interrupt(dir, 2, 10);
        try (FileChannel c = FileChannel.open(dir.resolve(BankWriter.levelFile(2)), StandardOpenOption.WRITE)) {
            c.truncate(c.size() - 7);  // shortened after its record was written
        }
        assertThat(build(dir).toJson()).isEqualTo(whole.toJson());
        assertThat(Files.mismatch(dir.resolve(BankWriter.levelFile(2)), tmp.resolve("whole").resolve(BankWriter.levelFile(2)))).isEqualTo(-1);
    }

    @Test
    void aBankTheDiskCannotHoldIsRefusedBeforeWriting(@TempDir Path tmp) {
        Path dir = tmp.resolve("huge");
        // 16^5 leaves of 4096 neurons at d=4096 and 32 layers: petabytes
        assertThatThrownBy(() -> RandomBank.create(dir, new BankManifest.Anchor("x", 4096, 32), 16, 5, new int[] {4096, 4096, 4096, 4096, 4096},
                0, DType.BF16, false, 1)).hasMessageContaining("the bank needs").hasMessageContaining("GB are free");
        assertThat(Files.exists(dir.resolve(BankWriter.levelFile(1)))).isFalse();
    }
}
