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
        assertThat(o.serving().weightFormat()).isEqualTo(dev.hmem.runtime.tensor.WeightFormat.F32);
        assertThat(parse("--weight-format", "bf16").serving().weightFormat()).isEqualTo(dev.hmem.runtime.tensor.WeightFormat.BF16);
        assertThat(parse("--prefill-min-free", "1", "--prefill-max-delay-ms", "0").serving().prefillMinFreeSlots()).isEqualTo(1);
        assertThat(o.serving().javaBlockCopyBytes()).isEqualTo(128L << 20);
        assertThat(parse("--java-block-copy-mb", "0").serving().javaBlockCopyBytes()).isZero();
        assertThat(parse("--java-block-copy-mb", "3000").serving().javaBlockCopyBytes()).isEqualTo(3000L << 20);
    }

    @Test
    void badValuesAreRefusedByName() {
        assertThatThrownBy(() -> parse("--prefill-min-free", "40")).hasMessageContaining("prefill min free slots")
                .hasMessageContaining("40");
        assertThatThrownBy(() -> parse("--prefill-max-delay-ms", "-1")).hasMessageContaining("prefill max delay");
        assertThatThrownBy(() -> parse("--max-batch", "0")).hasMessageContaining("max batch");
        assertThatThrownBy(() -> parse("--java-block-copy-mb", "-1")).hasMessageContaining("Java block copy budget")
                .hasMessageContaining("-1048576");
        assertThatThrownBy(() -> parse("--weight-format", "fp8")).hasMessageContaining("--weight-format")
                .hasMessageContaining("fp8");
        assertThatThrownBy(() -> parse("--prefil-min-free", "2")).hasMessageContaining("unknown option")
                .hasMessageContaining("prefil-min-free");
        assertThatThrownBy(() -> InferenceOptions.fromArgs("--model", "/m")).hasMessageContaining("--bootstrap-servers");
    }

    @Test
    void kafkaPropertiesComeFromAFileAndFlagsFlagsWinning(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path f = dir.resolve("client.properties");
        java.nio.file.Files.writeString(f, "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nrequest.timeout.ms=1000\n");
        InferenceOptions o = parse("--kafka-properties", f.toString(), "--kafka-property", "request.timeout.ms=5000",
                "--kafka-property", "ssl.truststore.location=/etc/kafka/trust.jks");
        assertThat(o.kafkaProperties()).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("request.timeout.ms", "5000").containsEntry("ssl.truststore.location", "/etc/kafka/trust.jks");
        assertThat(o.asMap().toString()).doesNotContain("SASL_SSL");
        assertThat(KafkaConnectors.prompts(o, null)).isNotNull();
        assertThatThrownBy(() -> parse("--kafka-property", "isolation.level=read_uncommitted")).hasMessageContaining("isolation.level");
        assertThatThrownBy(() -> parse("--kafka-property", "novalue")).hasMessageContaining("key=value");
        assertThatThrownBy(() -> parse("--max-batch", "8", "--max-batch", "16")).hasMessageContaining("given 2 times");
    }
}
