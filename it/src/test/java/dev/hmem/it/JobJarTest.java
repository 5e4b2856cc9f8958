package dev.hmem.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * The job jar holds only what a cluster runs: the job, the runtime and the operators, with their libraries, and
 * nothing of training, the CLI or what a Flink installation provides. Runs in this module's unit tier, after jobs/
 * has packaged the jar.
 */
class JobJarTest {

    static final Path JAR = Path.of(System.getProperty("hmem.jobJar", "../jobs/target/hmem-job.jar"));

    static List<String> entries() throws Exception {
        assertThat(JAR).as("the job jar (built by jobs/ before this module)").exists();
        try (JarFile jar = new JarFile(JAR.toFile())) {
            return jar.stream().map(ZipEntry::getName).toList();
        }
    }

    @Test
    void holdsTheJobAndTheRuntimeButNoTrainingCliOrFlinkClass() throws Exception {
        List<String> e = entries();
        assertThat(e).contains("dev/hmem/jobs/inference/InferenceJob.class", "dev/hmem/runtime/anchor/Transformer.class",
                "dev/hmem/runtime/ffn/MemoryPlan.class", "dev/hmem/operators/functions/GenerateOperator.class",
                "org/apache/flink/connector/kafka/source/KafkaSource.class");
        assertThat(e).filteredOn(n -> n.startsWith("dev/hmem/training/")).as("training classes").isEmpty();
        assertThat(e).filteredOn(n -> n.startsWith("hmem/data/")).as("the training corpus's tables").isEmpty();
        assertThat(e).filteredOn(n -> n.startsWith("dev/hmem/cli/")).as("CLI classes").isEmpty();
        assertThat(e).filteredOn(n -> n.startsWith("org/apache/flink/streaming/api/environment/")
                || n.startsWith("org/apache/flink/runtime/taskmanager/")).as("classes a Flink installation provides").isEmpty();
    }

    @Test
    void theJarOnDiskIsTheOneJustBuilt() throws Exception {
        // A stale jar would make the check above vacuous.
        Path classes = Path.of("../jobs/target/classes/dev/hmem/jobs/inference/InferenceJob.class");
        if (Files.exists(classes)) {
            assertThat(Files.getLastModifiedTime(JAR)).isGreaterThanOrEqualTo(Files.getLastModifiedTime(classes));
        }
    }
}
