package dev.hmem.cli.demo;

import java.nio.file.Path;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * A local Flink cluster in this JVM with its web UI, every endpoint on 127.0.0.1 (Flink's
 * MiniCluster binds 0.0.0.0 unless told otherwise) and its scratch files under a work directory.
 */
public final class LocalFlink {

    private LocalFlink() {}

    public static Configuration config(Path workDir, int restPort, int slots) {
        Configuration c = new Configuration();
        c.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        c.set(RestOptions.ADDRESS, "127.0.0.1");
        c.set(RestOptions.PORT, restPort);
        c.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
        c.set(JobManagerOptions.ADDRESS, "127.0.0.1");
        c.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
        c.set(TaskManagerOptions.HOST, "127.0.0.1");
        c.set(TaskManagerOptions.NUM_TASK_SLOTS, slots);
        c.set(CoreOptions.TMP_DIRS, workDir.resolve("flink-tmp").toString());
        c.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, workDir.resolve("checkpoints").toUri().toString());
        c.setString("restart-strategy.type", "fixed-delay");
        c.setString("restart-strategy.fixed-delay.attempts", "3");
        c.setString("restart-strategy.fixed-delay.delay", "1 s");
        return c;
    }

    public static StreamExecutionEnvironment withWebUi(Configuration c) {
        return StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(c);
    }
}
