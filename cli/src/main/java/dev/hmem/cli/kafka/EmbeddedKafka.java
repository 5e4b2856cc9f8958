package dev.hmem.cli.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka (KRaft, broker and controller in one) started inside this JVM, bound
 * to 127.0.0.1 on free ports. For the demo and the integration tests: no Docker on these machines.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private final KafkaRaftServer server;
    private final String bootstrap;

    private EmbeddedKafka(KafkaRaftServer server, String bootstrap) {
        this.server = server;
        this.bootstrap = bootstrap;
    }

    /** Formats a fresh log directory under {@code workDir} and starts the broker; waits until it answers. */
    public static EmbeddedKafka start(Path workDir) throws Exception {
        int port = freePort(), controller = freePort();
        Path logs = Files.createDirectories(workDir.resolve("kafka-" + port));
        Properties p = serverProperties(logs, port, controller);
        format(p, logs.resolve("server.properties"));
        KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(p, false), Time.SYSTEM);
        server.startup();
        EmbeddedKafka k = new EmbeddedKafka(server, "127.0.0.1:" + port);
        awaitReady(k.bootstrap, Duration.ofSeconds(60));
        return k;
    }

    /**
     * A single combined KRaft node (broker and controller) on 127.0.0.1: one partition replica and
     * an in-sync set of one for the internal topics, no delay before the first consumer-group
     * rebalance, no topics created by accident.
     */
    public static Properties serverProperties(Path logs, int port, int controller) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controller);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", logs.toString());
        p.put("num.partitions", "2");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        return p;
    }

    /** Writes {@code p} to {@code file} and formats the log directory it names (once, before the first start). */
    public static void format(Properties p, Path file) throws IOException {
        try (var out = Files.newOutputStream(file)) {
            p.store(out, "hmem KRaft broker");
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        // Static quorum (controller.quorum.voters): format without --standalone.
        int rc;
        try {
            rc = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", file.toString()},
                    new PrintStream(log));
        } catch (Exception e) {
            throw new IOException("formatting the Kafka log dir failed: " + log, e);
        }
        if (rc != 0) throw new IOException("formatting the Kafka log dir failed: " + log);
    }

    /** Waits until a broker at {@code bootstrap} answers an Admin client. */
    public static void awaitReady(String bootstrap, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000", AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000"))) {
                admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                last = e;
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("Kafka did not come up at " + bootstrap, last);
    }

    public String bootstrapServers() {
        return bootstrap;
    }

    public Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
    }

    /** Creates topics (ignoring ones that exist). */
    public void createTopics(int partitions, String... topics) throws Exception {
        createTopics(bootstrap, partitions, topics);
    }

    /**
     * Creates topics on the broker at {@code bootstrap} (ignoring ones that exist) and returns once they are listed:
     * creation completes before the broker's metadata shows the topic, and a test that checks right after must not
     * depend on how fast that is.
     */
    public static void createTopics(String bootstrap, int partitions, String... topics) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            List<NewTopic> nt = new ArrayList<>();
            for (String t : topics) nt.add(new NewTopic(t, partitions, (short) 1));
            for (var f : admin.createTopics(nt).values().values()) {
                try {
                    f.get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) throw e;
                }
            }
            List<String> unlisted = dev.hmem.jobs.inference.KafkaTopics.missing(admin, List.of(topics), 30_000);
            if (!unlisted.isEmpty()) throw new IllegalStateException("topics " + unlisted + " not listed 30 s after creation");
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }
}
