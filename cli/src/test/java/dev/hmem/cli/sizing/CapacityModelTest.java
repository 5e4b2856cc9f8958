package dev.hmem.cli.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The capacity model on cases worked by hand, and the placement it is given. */
class CapacityModelTest {

    @Test
    void aUniformLevelHalfInTheBudgetHitsHalfTheTime() {
        // k=2, 2 levels; level 1 pinned; 4 leaves of 10 bytes asked for 1/4 of the time each; 20 bytes of cache.
        // LRU: 40·(1 − e^(−T/4)) = 20 gives e^(−T/4) = 1/2, so every leaf hits half the time; an LFU keeps 2 of 4.
        BankShape shape = new BankShape(2, 2, new long[] {100, 10});
        LeafPopularity uniform = LeafPopularity.zipf(shape, 0, 1);
        for (CachePolicy p : new CachePolicy[] {CachePolicy.LRU, CachePolicy.TINY_LFU}) {
            var r = CapacityModel.predict(uniform, Placement.spread(2, 1), 20, 1, p);
            assertThat(r.hit()[0]).isEqualTo(1.0);
            assertThat(r.hit()[1]).isCloseTo(0.5, offset(1e-9));
            assertThat(r.missBytes()).isCloseTo(5.0, offset(1e-6));  // half the prompts read a 10-byte leaf
            assertThat(r.pinnedBytes()).isEqualTo(200);
            assertThat(r.wantedBytes()).isEqualTo(40);
        }
    }

    @Test
    void hierarchyAwarePlacementNeedsOnlyItsShareOfTheDeepBlocks() {
        BankShape shape = BankShape.of(4, new int[] {16, 8, 4}, 8, 1, 4);
        LeafPopularity law = LeafPopularity.zipf(shape, 1.0, 7);
        long deep = shape.levelBytes(2) + shape.levelBytes(3);
        // each subtask owns two of the four level-1 clusters outright
        double[][] owned = {{1, 0}, {0, 1}, {1, 0}, {0, 1}};
        Placement byCluster = new Placement("owned", owned);
        var aware = CapacityModel.predict(law, byCluster, deep / 2, 1, CachePolicy.LRU);
        var spread = CapacityModel.predict(law, Placement.spread(4, 2), deep / 2, 1, CachePolicy.LRU);
        assertThat(aware.hit()[1]).isCloseTo(1.0, offset(1e-12));
        assertThat(aware.hit()[2]).isCloseTo(1.0, offset(1e-12));
        assertThat(aware.missBytes()).isCloseTo(0.0, offset(1e-9));
        assertThat(spread.hit()[2]).isLessThan(0.99);
        assertThat(spread.wantedBytes()).isEqualTo(deep);  // every subtask wants every block
        assertThat(aware.wantedBytes()).isEqualTo(deep / 2);
    }

    @Test
    void hitRatesRiseWithTheBudgetAndNeverExceedOne() {
        BankShape shape = BankShape.of(8, new int[] {32, 16, 8}, 8, 1, 4);
        for (double s : new double[] {0.5, 1.0, 1.4}) {
            LeafPopularity law = LeafPopularity.zipf(shape, s, 3);
            Placement aware = Placement.affinity(law, 3, 20_000, 5);
            double[] last = new double[3];
            for (long b = 0; b <= shape.levelBytes(2) + shape.levelBytes(3); b += 4096) {
                var r = CapacityModel.predict(law, aware, b, 1, CachePolicy.TINY_LFU);
                for (int l = 0; l < 3; l++) {
                    assertThat(r.hit()[l]).isBetween(0.0, 1.0 + 1e-12).isGreaterThanOrEqualTo(last[l] - 1e-9);
                    last[l] = r.hit()[l];
                }
            }
        }
    }

    @Test
    void theMeasuredPlacementSplitsEveryClusterCompletely() {
        BankShape shape = BankShape.of(16, new int[] {64, 16}, 8, 1, 4);
        LeafPopularity law = LeafPopularity.zipf(shape, 1.2, 2);
        Placement p = Placement.affinity(law, 4, 50_000, 9);
        double meanLargest = 0;
        for (double[] row : p.share()) {
            double sum = 0, max = 0;
            for (double v : row) {
                sum += v;
                max = Math.max(max, v);
            }
            assertThat(sum).isCloseTo(1.0, offset(1e-9));
            meanLargest += max / p.share().length;
        }
        // affinity keeps a cluster mostly on one subtask (bounded loads spill some), where spreading gives each 1/4
        assertThat(meanLargest).isGreaterThan(0.5);
        double[] node = law.nodes(1);
        double total = 0;
        for (double v : node) total += v;
        assertThat(total).isCloseTo(1.0, offset(1e-9));
    }

    @Test
    void badShapesAreNamed() {
        assertThatThrownBy(() -> new BankShape(1, 2, new long[2])).hasMessageContaining("branching must be >= 2");
        assertThatThrownBy(() -> new BankShape(4, 3, new long[2])).hasMessageContaining("one block size per level");
        assertThatThrownBy(() -> LeafPopularity.zipf(new BankShape(2, 1, new long[1]), -1, 1)).hasMessageContaining("Zipf exponent");
        BankShape shape = new BankShape(2, 2, new long[] {1, 1});
        assertThatThrownBy(() -> CapacityModel.predict(LeafPopularity.zipf(shape, 1, 1), Placement.spread(3, 1), 1, 1, CachePolicy.LRU))
                .hasMessageContaining("placement covers 3 clusters, the bank has 2");
    }

    @Test
    void nodeHitsWeightedByPopularityAreTheLevelHitRates() {
        BankShape shape = BankShape.of(4, new int[] {16, 8, 4}, 8, 1, 4);
        for (double s : new double[] {0.6, 1.0, 1.3}) {
            LeafPopularity law = LeafPopularity.zipf(shape, s, 5);
            for (long budget : new long[] {shape.blockBytes()[2] * 3, shape.levelBytes(3) / 2, shape.levelBytes(2, 3)}) {
                for (Placement placement : List.of(Placement.spread(4, 2), Placement.affinity(law, 2, 20_000, 3))) {
                    var r = CapacityModel.predict(law, placement, budget, 1, CachePolicy.TINY_LFU);
                    for (int l = 1; l <= 3; l++) {
                        double[] p = law.nodes(l);
                        double sum = 0;
                        for (int n = 0; n < p.length; n++) {
                            assertThat(r.nodeHit()[l - 1][n]).isBetween(0.0, 1.0 + 1e-12);
                            sum += p[n] * r.nodeHit()[l - 1][n];
                        }
                        assertThat(sum).as("level %d, s %s, budget %d, %s", l, s, budget, placement.name()).isCloseTo(r.hit()[l - 1], offset(1e-9));
                    }
                }
            }
        }
    }
}
