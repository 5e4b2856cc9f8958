package dev.hmem.cli.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigurationUtils;
import org.apache.flink.configuration.GlobalConfiguration;

/**
 * The local cluster's {@code conf/}: {@code config.yaml} is {@code deploy/config.yaml} — the file a
 * real deployment uses — with what must differ on one machine overridden: every address 127.0.0.1,
 * free ports, directories in the run directory, TaskManagers small enough that two share this
 * machine, the Prometheus reporter that listens on loopback only; then the caller's overrides.
 * Also writes the log4j configurations of the Flink processes and of the broker.
 */
final class ClusterConfig {

    private ClusterConfig() {}

    static void write(LocalCluster.Options o, Path run, int restPort, int rpcPort, String zookeeperQuorum) throws IOException {
        Path conf = Files.createDirectories(run.resolve("conf"));
        Configuration c = GlobalConfiguration.loadConfiguration(o.deployDir().toAbsolutePath().toString());
        Map<String, String> local = new LinkedHashMap<>();
        local.put("jobmanager.rpc.address", "127.0.0.1");
        local.put("jobmanager.rpc.port", Integer.toString(rpcPort));
        local.put("jobmanager.bind-host", "127.0.0.1");
        local.put("rest.address", "127.0.0.1");
        local.put("rest.bind-address", "127.0.0.1");
        local.put("rest.port", Integer.toString(restPort));
        local.put("taskmanager.bind-host", "127.0.0.1");
        local.put("taskmanager.host", "127.0.0.1");
        local.put("taskmanager.numberOfTaskSlots", Integer.toString(o.slots()));
        local.put("parallelism.default", "1");
        local.putAll(taskManagerMemory(o.tmMemory()));
        local.put("jobmanager.memory.process.size", "1g");
        local.put("execution.checkpointing.dir", run.resolve("checkpoints").toUri().toString());
        local.put("execution.checkpointing.savepoint-dir", run.resolve("savepoints").toUri().toString());
        local.put("io.tmp.dirs", run.resolve("tmp").toString());
        local.put("web.checkpoints.history", "200");
        // The REST API serves metrics at most this old (default 10 s): load tests read counters per step.
        local.put("metrics.fetcher.update-interval", "1000");
        local.put("web.upload.dir", Files.createDirectories(run.resolve("web-upload")).toString());
        local.put("web.tmpdir", Files.createDirectories(run.resolve("tmp").resolve("web")).toString());
        local.put("blob.storage.directory", Files.createDirectories(run.resolve("tmp").resolve("blobs")).toString());
        local.put("metrics.reporter.prom.factory.class", "dev.hmem.cluster.metrics.LoopbackPrometheusReporterFactory");
        local.put("metrics.reporter.prom.host", "127.0.0.1");
        local.put("metrics.reporter.prom.port", "9250-9299");
        String djl = run.resolve("djl-cache").toString();
        local.put("env.java.opts.taskmanager", "--add-modules jdk.incubator.vector -Dai.djl.offline=true -DDJL_CACHE_DIR=" + djl + " -DENGINE_CACHE_DIR=" + djl);
        // Restarts come quickly on one machine (the bound stays the deployment's).
        local.put("restart-strategy.exponential-delay.initial-backoff", "500ms");
        local.put("restart-strategy.exponential-delay.max-backoff", "5s");
        if (zookeeperQuorum != null) {
            // Flink's ZooKeeper high availability: leader election, and the job graphs and checkpoint pointers a new
            // JobManager recovers the jobs from.
            local.put("high-availability.type", "zookeeper");
            local.put("high-availability.zookeeper.quorum", zookeeperQuorum);
            local.put("high-availability.storageDir", run.resolve("ha").toUri().toString());
            local.put("high-availability.cluster-id", "/hmem-local");
        }
        local.putAll(o.overrides());
        for (Map.Entry<String, String> e : local.entrySet()) c.setString(e.getKey(), e.getValue());
        Files.write(conf.resolve("config.yaml"), ConfigurationUtils.convertConfigToWritableLines(c, false), StandardCharsets.UTF_8);
        Files.writeString(conf.resolve("log4j.properties"), LOG4J_FLINK);
        Files.writeString(conf.resolve("log4j-kafka.properties"), LOG4J_KAFKA);
    }

    /**
     * A TaskManager of {@code processMiB}: a 512 MiB heap, 128 MiB of network buffers, no managed
     * memory and the rest task off-heap (native memory for the model), as deploy/config.yaml splits
     * its 16 GiB.
     */
    static Map<String, String> taskManagerMemory(int processMiB) {
        int overhead = Math.max(192, Math.min(1024, processMiB / 10));
        int offHeap = processMiB - 256 - overhead - 128 - 128 - 512 - 128;
        if (offHeap < 256) throw new IllegalArgumentException("a TaskManager needs at least 1600 MiB, got " + processMiB);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("taskmanager.memory.process.size", processMiB + "m");
        m.put("taskmanager.memory.task.heap.size", "512m");
        m.put("taskmanager.memory.task.off-heap.size", offHeap + "m");
        m.put("taskmanager.memory.network.min", "128m");
        m.put("taskmanager.memory.network.max", "128m");
        m.put("taskmanager.memory.managed.size", "0");
        return m;
    }

    /** The configuration as written, flat. */
    static Map<String, String> read(Path conf) {
        return GlobalConfiguration.loadConfiguration(conf.toString()).toMap();
    }

    private static final String LOG4J_FLINK = """
            # Flink processes of the local cluster: one log file each (-Dlog.file), as the distribution does.
            monitorInterval = 30
            rootLogger.level = INFO
            rootLogger.appenderRef.file.ref = MainAppender
            appender.main.name = MainAppender
            appender.main.type = RollingFile
            appender.main.append = true
            appender.main.fileName = ${sys:log.file}
            appender.main.filePattern = ${sys:log.file}.%i
            appender.main.layout.type = PatternLayout
            appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
            appender.main.policies.type = Policies
            appender.main.policies.size.type = SizeBasedTriggeringPolicy
            appender.main.policies.size.size = 100MB
            appender.main.strategy.type = DefaultRolloverStrategy
            appender.main.strategy.max = 5
            logger.kafka.name = org.apache.kafka
            logger.kafka.level = WARN
            logger.metrics.name = org.apache.flink.runtime.metrics
            logger.metrics.level = ERROR
            """;

    private static final String LOG4J_KAFKA = """
            # The local cluster's broker: warnings and its start and stop.
            rootLogger.level = WARN
            rootLogger.appenderRef.file.ref = File
            appender.file.name = File
            appender.file.type = File
            appender.file.fileName = ${sys:kafka.log.file}
            appender.file.layout.type = PatternLayout
            appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n
            logger.server.name = kafka.server.KafkaRaftServer
            logger.server.level = INFO
            """;
}
