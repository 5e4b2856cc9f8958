package dev.hmem.runtime.router;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MiniLmEmbedderTest {

    static MiniLmEmbedder embedder;

    @BeforeAll
    static void load() throws Exception {
        embedder = MiniLmEmbedder.load(1);
    }

    @AfterAll
    static void close() {
        embedder.close();
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    @Test
    void embeddingsAreUnitLengthAndSemantic() {
        float[][] e = embedder.embed(List.of("What is the atomic number of xenon?",
                "Tell me the atomic number of the element xenon.", "Which currency is used in Peru?"));
        for (float[] v : e) {
            assertThat(v).hasSize(384);
            assertThat(dot(v, v)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        }
        assertThat(dot(e[0], e[1])).isGreaterThan(dot(e[0], e[2]) + 0.2);
    }

    @Test
    void batchedEqualsOneByOneDespitePadding() {
        List<String> texts = List.of("short", "a much longer sentence about chemical elements and their numbers");
        float[][] batch = embedder.embed(texts);
        for (int i = 0; i < texts.size(); i++) {
            float[] alone = embedder.embed(List.of(texts.get(i)))[0];
            assertThat(dot(alone, batch[i])).isGreaterThan(0.9999);
        }
    }
}
