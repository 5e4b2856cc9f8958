package dev.hmem.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading llama-batched-bench's table, in the layout its source prints (tools/batched-bench, c392e50). */
class LlamaCppPeerTest {

    static final String OUT = String.join("\n",
            "main: n_kv_max = 4352, n_batch = 2048, n_ubatch = 512, flash_attn = 1, is_pp_shared = 0, n_gpu_layers = -1, n_threads = 2, n_threads_batch = 2",
            "",
            "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |",
            "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|",
            "|    64 |      1 |    1 |     65 |    0.027 |  2370.37 |    0.004 |   250.00 |    0.031 |  2096.77 |",
            "|   512 |      1 |    8 |   4104 |    1.917 |  2136.67 |    0.012 |   666.67 |    1.929 |  2127.53 |",
            "",
            "llama_perf_context_print:        load time =      31.20 ms",
            "build: 4753 (c392e50) with cc (Debian 12.2.0-14) 12.2.0 for x86_64-linux-gnu");

    @Test
    void rowsGivePromptSecondsFromTheRateAndDecodeTokensPerSecond() {
        List<LlamaCppPeer.Row> rows = LlamaCppPeer.rows(OUT);
        assertThat(rows).hasSize(2);
        LlamaCppPeer.Row a = rows.get(0), b = rows.get(1);
        assertThat(a.prompt()).isEqualTo(64);
        assertThat(a.batch()).isEqualTo(1);
        assertThat(a.promptSeconds()).isCloseTo(64 / 2370.37, within(1e-9));
        assertThat(a.decodeTokS()).isEqualTo(250.00);
        assertThat(b.prompt()).isEqualTo(512);
        assertThat(b.generated()).isEqualTo(1);
        assertThat(b.batch()).isEqualTo(8);
        assertThat(b.promptSeconds()).isCloseTo(1.917, within(0.001));  // agrees with T_PP to its printed precision
    }

    @Test
    void linesThatAreNotResultRowsAreSkipped() {
        assertThat(LlamaCppPeer.rows("|    PP |     TG |    B |\n| x | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |\nnothing")).isEmpty();
    }
}
