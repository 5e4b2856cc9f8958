package dev.hmem.jobs.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.runtime.tensor.WeightFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceOptionsTest {

    static InferenceOptions parse(String... extra) {
        String[] base = {"--bootstrap-servers", "127.0.0.1:9092", "--model", "/models/demo"};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return InferenceOptions.parse(all);
    }

    @Test
    void defaultsGroupPrefillsByAQuarterOfTheBatch() {
        InferenceOptions o = parse();
        assertThat(o.serving().generator().maxBatch()).isEqualTo(32);
        assertThat(o.serving().generator().prefillMinFreeSlots()).isEqualTo(8);
        assertThat(o.serving().generator().prefillMaxDelayMs()).isEqualTo(250);
        assertThat(parse("--max-batch", "64").serving().generator().prefillMinFreeSlots()).isEqualTo(16);
        assertThat(o.serving().generator().weightFormat()).isEqualTo(WeightFormat.F32);
        assertThat(parse("--weight-format", "bf16").serving().generator().weightFormat()).isEqualTo(WeightFormat.BF16);
        assertThat(parse("--prefill-min-free", "1", "--prefill-max-delay-ms", "0").serving().generator().prefillMinFreeSlots()).isEqualTo(1);
        assertThat(o.serving().generator().javaBlockCopyBytes()).isEqualTo(128L << 20);
        assertThat(parse("--java-block-copy-mb", "0").serving().generator().javaBlockCopyBytes()).isZero();
        assertThat(parse("--java-block-copy-mb", "3000").serving().generator().javaBlockCopyBytes()).isEqualTo(3000L << 20);
        assertThat(parse("--torch-threads", "3").serving().generator().threads()).as("the Java path uses the torch threads").isEqualTo(3);
        assertThat(parse("--routing", "round-robin").serving().affinityRouting()).isFalse();
        assertThat(o.serving().affinityRouting()).isTrue();
        assertThat(parse("--delivery", "at-least-once").exactlyOnce()).isFalse();
    }

    @Test
    void badValuesAreRefusedByName() {
        assertThatThrownBy(() -> parse("--prefill-min-free", "40")).hasMessageContaining("--prefill-min-free")
                .hasMessageContaining("40");
        assertThatThrownBy(() -> parse("--prefill-max-delay-ms", "-1")).hasMessageContaining("--prefill-max-delay-ms");
        assertThatThrownBy(() -> parse("--max-batch", "0")).hasMessageContaining("--max-batch");
        assertThatThrownBy(() -> parse("--java-block-copy-mb", "-1")).hasMessageContaining("--java-block-copy-mb")
                .hasMessageContaining("-1 MB");
        assertThatThrownBy(() -> parse("--weight-format", "fp8")).hasMessageContaining("--weight-format")
                .hasMessageContaining("fp8");
        assertThatThrownBy(() -> parse("--routing", "random")).hasMessageContaining("--routing").hasMessageContaining("random");
        assertThatThrownBy(() -> parse("--max-batch", "many")).hasMessageContaining("--max-batch").hasMessageContaining("many");
        assertThatThrownBy(() -> parse("--prefil-min-free", "2")).hasMessageContaining("Unknown option")
                .hasMessageContaining("prefil-min-free");
        assertThatThrownBy(() -> InferenceOptions.parse("--model", "/m")).hasMessageContaining("--bootstrap-servers");
        assertThatThrownBy(() -> InferenceOptions.parse("--bootstrap-servers", "b:1")).hasMessageContaining("--model");
        assertThatThrownBy(() -> parse("--max-batch", "8", "--max-batch", "16")).hasMessageContaining("--max-batch")
                .hasMessageContaining("only once");
    }

    @Test
    void kafkaPropertiesComeFromAFileAndFlagsFlagsWinning(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("client.properties");
        Files.writeString(f, "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nrequest.timeout.ms=1000\n");
        InferenceOptions o = parse("--kafka-properties", f.toString(), "--kafka-property", "request.timeout.ms=5000",
                "--kafka-property", "ssl.truststore.location=/etc/kafka/trust.jks");
        assertThat(o.kafkaProperties()).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("request.timeout.ms", "5000").containsEntry("ssl.truststore.location", "/etc/kafka/trust.jks");
        assertThat(o.asMap().toString()).doesNotContain("SASL_SSL");
        assertThat(KafkaConnectors.prompts(o, null)).isNotNull();
        assertThatThrownBy(() -> parse("--kafka-property", "isolation.level=read_uncommitted")).hasMessageContaining("isolation.level");
        assertThatThrownBy(() -> parse("--kafka-property", "novalue")).hasMessageContaining("key=value");
        // A credential on the command line would be shown as a program argument: only the file may carry one.
        assertThatThrownBy(() -> parse("--kafka-property", "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required password=\"x\";"))
                .hasMessageContaining("sasl.jaas.config").hasMessageContaining("--kafka-properties file");
        assertThatThrownBy(() -> parse("--kafka-property", "ssl.key.password=x")).hasMessageContaining("ssl.key.password");
        Files.writeString(f, "sasl.jaas.config=secret-login;\n");
        assertThat(parse("--kafka-properties", f.toString()).kafkaProperties()).containsEntry("sasl.jaas.config", "secret-login;");
    }

    @Test
    void twoDeploymentsOnTheSameBrokersGetDifferentTransactionalIdsUnlessTheyShareTheirTopics() {
        InferenceOptions a = parse("--results-topic", "team-a-results");
        InferenceOptions b = parse("--results-topic", "team-b-results");
        assertThat(a.transactionalIdPrefix()).startsWith("hmem-inference-").isNotEqualTo(b.transactionalIdPrefix());
        assertThat(parse("--results-topic", "team-a-results").transactionalIdPrefix()).as("stable across restarts")
                .isEqualTo(a.transactionalIdPrefix());
        assertThat(parse("--transactional-id-prefix", "mine").transactionalIdPrefix()).isEqualTo("mine");
        assertThat(a.toArgs()).doesNotContain("--transactional-id-prefix");
    }

    /**
     * Any valid options, built in code, survive being written as flags and parsed back: every option the builders
     * declare is carried by {@code toArgs}, whatever its value, so a cluster submission runs what the code built.
     */
    @Test
    void optionsBuiltInCodeRoundTripThroughTheirFlags() {
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 300; i++) {
            int batch = 1 + r.nextInt(256);
            int parallelism = 1 + r.nextInt(8);
            ServingConfig serving = ServingConfig.builder("/m" + r.nextInt(3), r.nextBoolean() ? null : "s3://b/bank" + r.nextInt(9))
                    .generator(g -> g.maxBatch(batch).context(r.nextInt(3) * 128).maxDistinctPaths(1 + r.nextInt(64))
                            .prefillGrouping(r.nextInt(batch + 1), r.nextInt(1000)).javaDecodeRows(r.nextInt(300))
                            .weightFormat(r.nextBoolean() ? WeightFormat.F32 : WeightFormat.BF16).javaBlockCopyMb(r.nextInt(500)))
                    .limits(l -> l.maxIdChars(1 + r.nextInt(500)).stops(r.nextInt(20), 1 + r.nextInt(300))
                            .client(r.nextInt(40), r.nextInt(9000)).maxPathChars(1 + r.nextInt(99)))
                    .maxNewTokens(1 + r.nextInt(64), 64 + r.nextInt(2000)).maxQueued(1 + r.nextInt(1000))
                    .maxWaitMs(r.nextInt(5000)).queueDeadlineMs(r.nextInt(120_000)).quarantineMs(r.nextInt(900_000))
                    .maxEngineFailures(1 + r.nextInt(5))
                    .whenFull(r.nextBoolean() ? ServingConfig.WhenFull.SHED : ServingConfig.WhenFull.WAIT).cache(r.nextInt(4096), r.nextInt(4)).loaderThreads(1 + r.nextInt(4))
                    .torchThreads(1 + r.nextInt(4)).routeBatch(1 + r.nextInt(64), r.nextInt(50))
                    .routing(r.nextBoolean() ? ServingConfig.Routing.AFFINITY : ServingConfig.Routing.ROUND_ROBIN)
                    .parallelism(parallelism, parallelism + r.nextInt(200)).build();
            InferenceOptions.Builder b = InferenceOptions.builder("127.0.0.1:" + (9000 + r.nextInt(999)), serving)
                    .topics("p" + i, "r" + i, "d" + i).groupId("g" + r.nextInt(5))
                    .startingOffsets(List.of("committed", "earliest", "latest").get(r.nextInt(3)))
                    .delivery(r.nextBoolean() ? InferenceOptions.Delivery.EXACTLY_ONCE : InferenceOptions.Delivery.AT_LEAST_ONCE)
                    .checkpointIntervalMs(100 + r.nextInt(10_000)).sourceParallelism(1 + r.nextInt(4))
                    .routeParallelism(1 + r.nextInt(4)).transactionalIdPrefix("t" + r.nextInt(9));
            for (int k = r.nextInt(3); k > 0; k--) b.kafkaProperty("request.timeout.ms=" + r.nextInt(9999));
            InferenceOptions o = b.build();
            List<String> args = o.toArgs();
            assertThat(InferenceOptions.parse(args.toArray(new String[0]))).as(String.join(" ", args)).isEqualTo(o);
        }
    }

    @Test
    void defaultsAreLeftOutOfTheFlags() {
        assertThat(parse().toArgs()).containsExactly("--bootstrap-servers", "127.0.0.1:9092", "--model", "/models/demo");
        assertThat(parse("--max-batch", "8").toArgs()).containsSubsequence("--max-batch", "8");
    }
}
