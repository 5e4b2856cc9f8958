package dev.hmem.operators.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Any file name is a local path; only a scheme of two or more letters makes a URI. */
class LocationsTest {

    @Test
    void examples() {
        assertThat(Locations.isLocal("/models/demo")).isTrue();
        assertThat(Locations.isLocal("models/demo")).isTrue();
        assertThat(Locations.isLocal("C:\\models\\demo")).as("a drive letter").isTrue();
        assertThat(Locations.isLocal("file:///models/demo")).isTrue();
        assertThat(Locations.localPath("file:///models/my%20demo")).isEqualTo(Path.of("/models/my demo"));
        assertThat(Locations.isLocal("s3://bucket/models/demo")).isFalse();
        assertThat(Locations.isLocal("hdfs://nn:8020/banks/b")).isFalse();
        assertThat(Locations.isLocal("S3A://bucket/x")).isFalse();
        assertThatThrownBy(() -> Locations.localPath("s3://bucket/x")).hasMessageContaining("s3://bucket/x");
    }

    /** Property: a path of random file-name characters (spaces, '#', '%', ':', '?', unicode) is local and kept as it is. */
    @Test
    void everyPlainPathIsLocalAndUnchanged() {
        String alphabet = "ab Z9 #%:?&=+-_.~()[]{}'!,;é中/";
        Random r = new Random(11);
        for (int i = 0; i < 2000; i++) {
            StringBuilder sb = new StringBuilder(r.nextBoolean() ? "/" : "");
            int n = 1 + r.nextInt(30);
            for (int k = 0; k < n; k++) sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            String p = sb.toString();
            boolean looksLikeScheme = p.matches("[A-Za-z][A-Za-z0-9+.-]+:.*");
            if (looksLikeScheme) continue;  // "ab:x" is a URI of scheme "ab", by the rule
            assertThat(Locations.isLocal(p)).as(p).isTrue();
            assertThat(Locations.localPath(p)).as(p).isEqualTo(Path.of(p));
        }
    }
}
