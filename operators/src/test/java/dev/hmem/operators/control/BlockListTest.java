package dev.hmem.operators.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.runtime.bank.MemoryPath;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockListTest {

    static String randomPath(SplittableRandom rnd, int maxDepth) {
        int depth = 1 + rnd.nextInt(maxDepth);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < depth; i++) b.append(i == 0 ? "" : ".").append(rnd.nextInt(3));
        return b.toString();
    }

    /** Property: the path used is the longest prefix of the routed one with no blocked node on it. */
    @Test
    void theUsedPathIsTheLongestUnblockedPrefix() {
        SplittableRandom rnd = new SplittableRandom(17);
        for (int trial = 0; trial < 2_000; trial++) {
            List<String> blocked = new ArrayList<>();
            for (int i = rnd.nextInt(4); i > 0; i--) blocked.add(randomPath(rnd, 3));
            BlockList list = BlockList.NONE.with(blocked);
            String routed = randomPath(rnd, 3);
            MemoryPath p = MemoryPath.parse(routed);
            int keep = p.depth();
            for (int k = 1; k <= p.depth(); k++) {
                if (blocked.contains(p.prefix(k).toString())) {
                    keep = k - 1;
                    break;
                }
            }
            BlockList.Cut cut = list.cut(routed);
            if (keep == p.depth()) {
                assertThat(cut).as("%s with %s blocked", routed, blocked).isNull();
            } else {
                assertThat(cut.used()).as("%s with %s blocked", routed, blocked).isEqualTo(keep == 0 ? "none" : p.prefix(keep).toString());
                assertThat(blocked).contains(cut.blocked());
                assertThat(list.blocks(routed)).isTrue();
            }
        }
    }

    @Test
    void unblockUndoesBlockAndGenericIsItsOwnEntry() {
        BlockList l = BlockList.NONE.with(List.of("3", "generic", "1.2"));
        assertThat(l.cut("generic").used()).isEqualTo("none");
        assertThat(l.cut("none")).isNull();
        assertThat(l.cut("1.2.0").used()).isEqualTo("1");
        BlockList back = l.without(List.of("3", "generic", "1.2"));
        assertThat(back.isEmpty()).isTrue();
        assertThat(back.cut("3.1")).isNull();
        assertThat(BlockList.NONE.with(List.of("03.1")).paths()).containsExactly("3.1");
    }

    @Test
    void malformedEntriesAreNamed() {
        assertThat(BlockList.problem(List.of("1.x"))).contains("invalid memory path '1.x'");
        assertThat(BlockList.problem(List.of(""))).contains("empty path");
        assertThat(BlockList.problem(List.of("generic", "2.1"))).isNull();
    }
}
