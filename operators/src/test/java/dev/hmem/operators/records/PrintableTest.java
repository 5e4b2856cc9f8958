package dev.hmem.operators.records;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PrintableTest {

    /** Any string, escaped, has no character that could forge or reorder a log line, and plain text is left alone. */
    @Test
    void escapedTextNeverHoldsAControlOrDirectionCharacter() {
        SplittableRandom r = new SplittableRandom(5);
        int[] nasty = {'\n', '\r', 0, 0x1B, 0x7F, 0x85, 0x2028, 0x2029, 0x202A, 0x202E, 0x2066, 0x2069, 0x200E, 0x061C};
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            for (int k = r.nextInt(12); k > 0; k--) {
                int cp = r.nextInt(4) == 0 ? nasty[r.nextInt(nasty.length)] : r.nextInt(3) == 0 ? 0x1F600 + r.nextInt(64) : 'a' + r.nextInt(26);
                sb.appendCodePoint(cp);
            }
            String s = sb.toString(), e = Printable.escape(s);
            assertThat(Printable.firstControl(e)).as(e).isEqualTo(-1);
            if (Printable.firstControl(s) < 0) assertThat(e).isEqualTo(s);
            else assertThat(e).contains("\\u");
        }
        assertThat(Printable.escape("a\nb\u202Ec")).isEqualTo("a\\u000Ab\\u202Ec");
        assertThat(Printable.escape(null)).isEqualTo("null");
    }
}
