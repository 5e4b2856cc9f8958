package dev.hmem.operators.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StreamingTest {

    /** Property: for valid UTF-8 cut at any byte, the held-back text is a prefix of the whole (never a broken character). */
    @Test
    void aTextCutAtAnyByteIsHeldBackToAPrefix() {
        SplittableRandom rnd = new SplittableRandom(3);
        int[] ranges = {0x41, 0xE9, 0x4E2D, 0x1F600};  // 1-, 2-, 3- and 4-byte characters
        for (int trial = 0; trial < 500; trial++) {
            StringBuilder b = new StringBuilder();
            for (int i = rnd.nextInt(1, 12); i > 0; i--) b.appendCodePoint(ranges[rnd.nextInt(ranges.length)] + rnd.nextInt(5));
            String whole = b.toString();
            byte[] bytes = whole.getBytes(StandardCharsets.UTF_8);
            String previous = "";
            for (int cut = 0; cut <= bytes.length; cut++) {
                String shown = Streaming.heldBack(new String(Arrays.copyOf(bytes, cut), StandardCharsets.UTF_8));
                assertThat(whole).startsWith(shown);
                assertThat(shown).startsWith(previous);
                previous = shown;
            }
            assertThat(previous).isEqualTo(whole);
        }
    }
}
