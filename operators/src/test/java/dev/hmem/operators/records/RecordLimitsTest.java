package dev.hmem.operators.records;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RecordLimitsTest {

    @Test
    void cutNeverExceedsItsLimitNorSplitsACharacter() {
        Random rnd = new Random(9);
        String alphabet = "ab中🙂";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            for (int n = rnd.nextInt(200); n > 0; n--) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, rnd.nextInt(4))));
            String s = sb.toString();
            int max = rnd.nextInt(120);
            String c = RecordLimits.cut(s, max);
            assertThat(c.length()).isLessThanOrEqualTo(max);
            if (s.length() <= max) assertThat(c).isEqualTo(s);
            if (!c.isEmpty()) assertThat(Character.isHighSurrogate(c.charAt(c.length() - 1))).isFalse();
            assertThat(s).startsWith(c.replaceAll("… \\([0-9]+ chars, cut\\)$", ""));
        }
    }

    @Test
    void limitsOutOfRangeAreRefusedWithTheirName() {
        assertThatThrownBy(() -> new RecordLimits(10, 1, 1, 1, 1, 1, 1, 1, 1, 1 << 20)).hasMessageContaining("max record bytes");
        assertThatThrownBy(() -> new RecordLimits(100, 0, 1, 1, 1, 1, 1, 1, 1, 1 << 20)).hasMessageContaining("max id chars");
        assertThatThrownBy(() -> new RecordLimits(100, 1, 1, -1, 1, 1, 1, 1, 1, 1 << 20)).hasMessageContaining("stop limits");
        assertThatThrownBy(() -> new RecordLimits(100, 1, 1, 1, 1, 1, 1, 1, -1, 1 << 20)).hasMessageContaining("dead letter raw");
    }
}
