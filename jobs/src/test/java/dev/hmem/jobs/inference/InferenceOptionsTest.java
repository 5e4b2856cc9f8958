package dev.hmem.jobs.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class InferenceOptionsTest {

    static InferenceOptions parse(String... extra) {
        String[] base = {"--bootstrap-servers", "127.0.0.1:9092", "--model", "/models/demo"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return InferenceOptions.fromArgs(all);
    }

    @Test
    void defaultsGroupPrefillsByAQuarterOfTheBatch() {
        InferenceOptions o = parse();
        assertThat(o.serving().maxBatch()).isEqualTo(32);
        assertThat(o.serving().prefillMinFreeSlots()).isEqualTo(8);
        assertThat(o.serving().prefillMaxDelayMs()).isEqualTo(250);
        assertThat(parse("--max-batch", "64").serving().prefillMinFreeSlots()).isEqualTo(16);
        assertThat(parse("--prefill-min-free", "1", "--prefill-max-delay-ms", "0").serving().prefillMinFreeSlots()).isEqualTo(1);
    }

    @Test
    void badValuesAreRefusedByName() {
        assertThatThrownBy(() -> parse("--prefill-min-free", "40")).hasMessageContaining("prefill min free slots")
                .hasMessageContaining("40");
        assertThatThrownBy(() -> parse("--prefill-max-delay-ms", "-1")).hasMessageContaining("prefill max delay");
        assertThatThrownBy(() -> parse("--max-batch", "0")).hasMessageContaining("max batch");
        assertThatThrownBy(() -> parse("--prefil-min-free", "2")).hasMessageContaining("unknown option")
                .hasMessageContaining("prefil-min-free");
        assertThatThrownBy(() -> InferenceOptions.fromArgs("--model", "/m")).hasMessageContaining("--bootstrap-servers");
    }
}
