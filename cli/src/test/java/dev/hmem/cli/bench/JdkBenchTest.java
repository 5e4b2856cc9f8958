package dev.hmem.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class JdkBenchTest {

    @Test
    void aJdksRatioIsTheMedianOfPerRoundRatiosSoTheMachinesDriftCancels() {
        // The machine halves its speed in round 2 for both JDKs alike; the newer one is 10% faster in every round.
        List<Double> base = List.of(20.0, 10.0, 20.0), newer = List.of(22.0, 11.0, 22.0);
        double[] r = JdkBench.ratio(newer, base);
        assertThat(r[0]).isCloseTo(1.1, within(1e-12));
        assertThat(r[1]).isCloseTo(1.1, within(1e-12));
        assertThat(r[2]).isCloseTo(1.1, within(1e-12));
        // Ratios of medians would read 22/20 here too, but one slow round of one side moves a per-round median less.
        double[] spell = JdkBench.ratio(List.of(22.0, 5.0, 22.0), base);
        assertThat(spell[0]).isCloseTo(1.1, within(1e-12));
        assertThat(spell[1]).isCloseTo(0.5, within(1e-12));
    }
}
