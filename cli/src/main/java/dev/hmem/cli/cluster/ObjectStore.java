package dev.hmem.cli.cluster;

import dev.hmem.cli.kafka.EmbeddedKafka;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A real S3-compatible object store on 127.0.0.1: S3Proxy (Apache jclouds behind the S3 API; Java, from Maven
 * Central, assembled by the objectstore module into objectstore/target/s3proxy) with its filesystem backend, run as
 * its own process like the broker and ZooKeeper. Chosen over MinIO and the like because it is the one S3 server on
 * Maven Central, so it installs where hmem builds; it speaks AWS signatures v2 and v4 and ranged GETs, which is
 * what Flink's S3 file system sends. A bucket is a directory under {@link #dataDir()} (the backend's layout).
 */
public final class ObjectStore implements AutoCloseable {

    public static final String ACCESS_KEY = "hmem-local";
    public static final String SECRET_KEY = "hmem-local-secret";

    private final ManagedProcess process;
    private final Path data;
    private final int port;
    private final List<String> jvm;
    private final List<String> main;
    private final Path dir;

    private ObjectStore(ManagedProcess process, Path data, int port, List<String> jvm, List<String> main, Path dir) {
        this.process = process;
        this.data = data;
        this.port = port;
        this.jvm = jvm;
        this.main = main;
        this.dir = dir;
    }

    /** S3Proxy's jars as the objectstore module assembles them. */
    public static Path defaultLib() {
        return ClusterCommand.home().resolve("objectstore/target/s3proxy");
    }

    /** Starts a store keeping its objects under {@code dir}/data; returns once it accepts connections. */
    public static ObjectStore start(Path lib, Path dir) throws Exception {
        if (!Files.isDirectory(lib)) throw new IllegalStateException(lib + " does not exist: build it with `mvn package` (objectstore/)");
        int port = EmbeddedKafka.freePort();
        Path data = Files.createDirectories(dir.resolve("data"));
        Path conf = dir.resolve("s3proxy.properties");
        Files.writeString(conf, String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + data) + "\n");
        String cp;
        try (Stream<Path> s = Files.list(lib)) {
            cp = String.join(":", s.filter(p -> p.toString().endsWith(".jar")).sorted().map(Path::toString).toList());
        }
        // S3Proxy ships no logging configuration, so logback logs every request at debug level: warnings only.
        Path logback = dir.resolve("logback.xml");
        Files.writeString(logback, "<configuration><appender name=\"out\" class=\"ch.qos.logback.core.ConsoleAppender\"><encoder>"
                + "<pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder></appender>"
                + "<root level=\"WARN\"><appender-ref ref=\"out\"/></root></configuration>\n");
        ManagedProcess p = new ManagedProcess("s3proxy", dir.resolve("s3proxy.pid"), dir.resolve("s3proxy.out"));
        ObjectStore store = new ObjectStore(p, data, port, List.of("-Xmx256m", "-Dlogback.configurationFile=" + logback, "-cp", cp),
                List.of("org.gaul.s3proxy.Main", "--properties", conf.toString()), dir);
        store.startProcess();
        return store;
    }

    private void startProcess() throws Exception {
        process.start(Path.of(System.getProperty("java.home"), "bin", "java"), jvm, main, dir, new TreeMap<>(System.getenv()));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException notYet) {
                if (!process.isAlive()) throw new IllegalStateException("S3Proxy exited; see " + process.output());
                if (System.nanoTime() > deadline) {
                    close();
                    throw new IllegalStateException("S3Proxy did not listen on " + port + "; see " + process.output());
                }
                Thread.sleep(200);
            }
        }
    }

    /** Kills the store as a crash would (its objects stay on disk). */
    public void kill() throws IOException {
        process.stop(true, Duration.ofSeconds(10));
    }

    /** Starts the store again after {@link #kill}, on the same port with the same objects. */
    public void restart() throws Exception {
        startProcess();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public Path dataDir() {
        return data;
    }

    public ManagedProcess process() {
        return process;
    }

    /** Creates a bucket (a directory of the filesystem backend). */
    public void createBucket(String name) throws IOException {
        if (!name.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) throw new IllegalArgumentException("not an S3 bucket name: '" + name + "'");
        Files.createDirectories(data.resolve(name));
    }

    /**
     * What Flink's S3 file system needs to reach this store: the endpoint, path-style addressing (no DNS names per
     * bucket on loopback), the credentials, and random-access reads, so that each block is one ranged GET of its
     * bytes instead of a GET to the end of a multi-gigabyte level file.
     */
    public Map<String, String> flinkConfiguration() {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("s3.endpoint", endpoint());
        c.put("s3.path.style.access", "true");
        c.put("s3.access-key", ACCESS_KEY);
        c.put("s3.secret-key", SECRET_KEY);
        c.put("s3.endpoint.region", "us-east-1");
        // the keys above and nothing else: the default chain would first ask EC2's metadata service, which is not there
        c.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        c.put("fs.s3a.experimental.input.fadvise", "random");
        c.put("fs.s3a.connection.ssl.enabled", "false");
        // A store that is down fails a read within seconds, not minutes of the SDK's and S3A's stacked retries (20
        // attempts by default): the block cache then quarantines the block and the prompt is answered with the healthy
        // part of its path, counted, and the block is tried again after the quarantine.
        c.put("fs.s3a.attempts.maximum", "2");
        c.put("fs.s3a.retry.limit", "2");
        c.put("fs.s3a.retry.interval", "200ms");
        c.put("fs.s3a.connection.establish.timeout", "2000");
        c.put("fs.s3a.connection.timeout", "10000");
        // Keep directory markers: after every PUT, S3A (Hadoop 3.3) otherwise deletes the parent "directory" object, which
        // the filesystem backend maps onto a real, non-empty directory that it retries deleting for 10 s.
        c.put("fs.s3a.directory.marker.retention", "keep");
        return c;
    }

    @Override
    public void close() throws IOException {
        process.stop(false, Duration.ofSeconds(20));
    }
}
