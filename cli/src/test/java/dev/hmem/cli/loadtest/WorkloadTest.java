package dev.hmem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The load generator's statistics: what a capacity planner's figures rest on. */
class WorkloadTest {

    static Map<String, List<String>> clusters(int n) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (int c = 0; c < n; c++) m.put("c" + c, List.of("p" + c + "a", "p" + c + "b"));
        return m;
    }

    @Test
    void clusterPopularityFollowsZipfWhateverTheExponent() {
        int n = 20, draws = 200_000;
        for (double s : new double[] {0, 0.6, 1.0, 1.2}) {
            Workload w = new Workload(clusters(n), s, 1, 1, 7);
            Map<String, Integer> counts = new HashMap<>();
            for (int i = 0; i < draws; i++) {
                Workload.Pick p = w.next();
                assertThat(p.prompt()).startsWith("p" + p.cluster().substring(1));  // a prompt of the drawn cluster
                counts.merge(p.cluster(), 1, Integer::sum);
            }
            // Ranks are a seeded shuffle of the clusters: sort the observed shares and compare rank by rank.
            double[] shares = counts.values().stream().mapToDouble(v -> (double) v / draws).sorted().toArray();
            double h = 0;
            for (int r = 1; r <= n; r++) h += 1 / Math.pow(r, s);
            for (int r = 1; r <= n; r++) {
                double expected = 1 / Math.pow(r, s) / h;
                assertThat(shares[n - r]).as("share of rank %d at s=%.1f", r, s).isCloseTo(expected, within(0.006));
            }
        }
    }

    @Test
    void arrivalGapsHaveTheRequestedMeanAndBurstiness() {
        for (double cv : new double[] {0.5, 1.0, 2.0}) {
            Workload w = new Workload(clusters(3), 1, 8, cv, 11);
            int n = 200_000;
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++) {
                double g = w.nextGap();
                assertThat(g).isPositive();
                sum += g;
                sq += g * g;
            }
            double mean = sum / n, sd = Math.sqrt(sq / n - mean * mean);
            assertThat(mean).as("mean gap at cv %.1f", cv).isCloseTo(1 / 8.0, within(0.02 / 8));
            assertThat(sd / mean).as("coefficient of variation").isCloseTo(cv, within(0.05 * cv));
            // A step's own rate overrides the workload's.
            double at2 = 0;
            for (int i = 0; i < 50_000; i++) at2 += w.nextGap(2);
            assertThat(at2 / 50_000).isCloseTo(0.5, within(0.02));
        }
    }

    @Test
    void theSameSeedDrawsTheSameRequests() {
        Workload a = new Workload(clusters(10), 1, 4, 1.5, 3), b = new Workload(clusters(10), 1, 4, 1.5, 3);
        List<String> fromA = new ArrayList<>(), fromB = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            fromA.add(a.next() + "@" + a.nextGap());
            fromB.add(b.next() + "@" + b.nextGap());
        }
        assertThat(fromA).isEqualTo(fromB);
    }

    @Test
    void badWorkloadsAndSlosAreRefusedNamingWhatIsWrong() {
        assertThatThrownBy(() -> new Workload(Map.of(), 1, 1, 1, 1)).hasMessageContaining("no prompts");
        assertThatThrownBy(() -> new Workload(clusters(2), 1, 0, 1, 1)).hasMessageContaining("rate");
        assertThatThrownBy(() -> new Workload(clusters(2), 1, 1, -1, 1)).hasMessageContaining("variation");
        Slo slo = Slo.parse("ttft=500, tpot=50ms,e2e=3000");
        assertThat(Arrays.asList(slo.ttftMs(), slo.tpotMs(), slo.e2eMs())).containsExactly(500.0, 50.0, 3000.0);
        assertThat(Slo.parse("")).isEqualTo(Slo.NONE);
        assertThatThrownBy(() -> Slo.parse("ttft")).hasMessageContaining("ttft=MS");
        assertThatThrownBy(() -> Slo.parse("ttft=fast")).hasMessageContaining("'fast' is not a number");
        assertThatThrownBy(() -> Slo.parse("ttft=-1")).hasMessageContaining("must be positive");
        assertThatThrownBy(() -> Slo.parse("latency=5")).hasMessageContaining("not 'latency'");
    }
}
