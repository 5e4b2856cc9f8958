package dev.hmem.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.jobs.inference.KafkaTopics;
import dev.hmem.operators.engine.ServingConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The job's topics are checked before it starts, against a real broker with auto-creation off. */
@Timeout(120)
class KafkaTopicsITCase {

    @TempDir
    static Path tmp;
    static EmbeddedKafka kafka;

    @BeforeAll
    static void setUp() throws Exception {
        kafka = EmbeddedKafka.start(tmp);
    }

    @AfterAll
    static void tearDown() {
        if (kafka != null) kafka.close();
    }

    static InferenceOptions.Builder options(String name) {
        return InferenceOptions.builder(kafka.bootstrapServers(), ServingConfig.builder("/m", null).build())
                .topics(name + "-prompts", name + "-results", name + "-dlq");
    }

    static Set<String> topics() throws Exception {
        try (Admin a = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            return a.listTopics().names().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aMissingTopicIsNamedAndTheJobDoesNotStart() throws Exception {
        kafka.createTopics(1, "a-prompts", "a-results");
        assertThatThrownBy(() -> KafkaTopics.ensure(options("a").build())).hasMessageContaining("[a-dlq]")
                .hasMessageContaining("--create-topics");
        assertThat(topics()).doesNotContain("a-dlq");
    }

    @Test
    void missingTopicsAreCreatedWhenAsked() throws Exception {
        KafkaTopics.ensure(options("b").createTopics(3).build());
        assertThat(topics()).contains("b-prompts", "b-results", "b-dlq");
        KafkaTopics.ensure(options("b").build());  // all there now: nothing to do
    }
}
