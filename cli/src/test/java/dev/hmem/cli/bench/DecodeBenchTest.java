package dev.hmem.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DecodeBenchTest {

    @Test
    void aSpeedRatioIsTheMedianOfEachRoundsRatioSoDriftBetweenRoundsCancels() {
        // The machine slows down 2x in round 2 and 3x in round 3; within each round memory costs 10%.
        Map<String, List<Double>> stepMs = Map.of(
                "anchor/java@8", List.of(10.0, 20.0, 30.0),
                "memory/java@8", List.of(11.0, 22.0, 33.0));
        assertThat(DecodeBench.speedRatio(stepMs, "anchor", "memory", "java", 8)).isCloseTo(1.1, org.assertj.core.data.Offset.offset(1e-12));
        // A slow spell that hits one scenario in one round moves the median of ratios less than the ratio of medians.
        Map<String, List<Double>> spell = Map.of(
                "anchor/java@8", List.of(10.0, 10.0, 30.0),
                "memory/java@8", List.of(30.0, 11.0, 33.0));
        double ofMedians = 30.0 / 10.0;  // memory's median step (30) over anchor's (10)
        assertThat(DecodeBench.speedRatio(spell, "anchor", "memory", "java", 8)).isCloseTo(1.1, org.assertj.core.data.Offset.offset(1e-12))
                .isLessThan(ofMedians);
        assertThat(DecodeBench.speedRatio(stepMs, "mixed8", "memory", "java", 8)).isNaN();
    }

    @Test
    void aGemmFractionDividesEachRoundsRateByThatRoundsCeiling() {
        // 8 rows in 10 ms = 800 tok/s, 2 × 1e6 FLOPs each = 1.6 GFLOP/s of a 16 GFLOP/s ceiling: 10%;
        // in round 2 the machine runs at half speed, steps and ceiling alike: still 10%.
        Map<String, List<Double>> stepMs = Map.of("anchor/java@8", List.of(10.0, 20.0, 10.0));
        List<Double> gemm = List.of(16.0, 8.0, 16.0);
        assertThat(DecodeBench.gemmFraction(stepMs, gemm, "anchor", "java", 8, 1_000_000))
                .isCloseTo(0.10, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(DecodeBench.gemmFraction(stepMs, List.of(16.0, 16.0, 16.0), "anchor", "java", 8, 1_000_000))
                .isCloseTo(0.10, org.assertj.core.data.Offset.offset(1e-12));  // the median round
        assertThat(DecodeBench.gemmFraction(stepMs, List.of(32.0, 32.0, 32.0), "anchor", "java", 8, 1_000_000))
                .isCloseTo(0.05, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(DecodeBench.gemmFraction(stepMs, gemm, "memory", "java", 8, 1_000_000)).isNaN();
    }

    @Test
    void everyShapeFetchesTheSameShareOfItsFfnAndEveryShapeHasASectionOfItsOwn() {
        assertThat(DecodeBench.neuronsFor(1536)).containsExactly(DecodeBench.NEURONS);  // the reference shape unchanged
        assertThat(DecodeBench.neuronsFor(2048)).containsExactly(128, 64, 13);
        assertThat(DecodeBench.neuronsFor(64)).containsExactly(4, 2, 1);  // never a level without neurons
        for (int ffn : new int[] {256, 1536, 2048, 5632, 8192}) {
            int[] n = DecodeBench.neuronsFor(ffn);
            assertThat((double) (n[0] + n[1] + n[2]) / ffn).as("ffn %d", ffn).isBetween(0.095, 0.105);
        }
        DecodeBench.Options bench = new DecodeBench.Options(new int[] {1}, 1, 1, 8, 1, null, null, null, null, "bench", null);
        DecodeBench.Options gqa = new DecodeBench.Options(new int[] {1}, 1, 1, 8, 1, null, null, null, null, "gqa", null);
        DecodeBench.Options dir = new DecodeBench.Options(new int[] {1}, 1, 1, 8, 1, null, null, null, null, "bench",
                java.nio.file.Path.of("/models/tiny"));
        assertThat(List.of(bench.section(), gqa.section(), dir.section())).containsExactly("decode", "decode-gqa", "decode-tiny");
    }
}
