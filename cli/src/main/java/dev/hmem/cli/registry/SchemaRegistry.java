package dev.hmem.cli.registry;

import dev.hmem.cli.kafka.EmbeddedKafka;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A real schema registry on 127.0.0.1, as its own process: Apicurio Registry 3 (its Maven Central distribution, the
 * Quarkus application {@code io.apicurio:apicurio-registry-app:3.3.3:tar.gz:all}, unpacked by the cluster module into
 * {@code cluster/target/apicurio-registry}), in-memory storage, its Confluent-compatible API at
 * {@code /apis/ccompat/v7}. Chosen because it is the registry on Maven Central that speaks the API Kafka shops'
 * producers use (Confluent's own is not on Central), and runs from a jar like the broker. It needs Java 21 or newer:
 * the first of {@code $HMEM_REGISTRY_JAVA}, this JVM, and the JDKs under /usr/lib/jvm that is.
 */
public final class SchemaRegistry implements AutoCloseable {

    /** The distribution's directory (with {@code quarkus-run.jar}): {@code -Dhmem.registry.home}, else under hmem's home. */
    public static Path home() {
        String p = System.getProperty("hmem.registry.home");
        if (p != null) return Path.of(p);
        return Path.of(System.getProperty("hmem.home", "."), "cluster", "target", "apicurio-registry");
    }

    private final Process process;
    private final int port;
    private final Path log;

    private SchemaRegistry(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts a registry with its scratch files and log under {@code workDir}; ready when this returns. */
    public static SchemaRegistry start(Path workDir) throws Exception {
        return start(workDir, EmbeddedKafka.freePort());
    }

    public static SchemaRegistry start(Path workDir, int port) throws Exception {
        List<String> cmd = command(workDir, port);
        Files.createDirectories(workDir);
        Path log = workDir.resolve("registry.log");
        Process p = new ProcessBuilder(cmd).directory(home().toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        SchemaRegistry r = new SchemaRegistry(p, port, log);
        try {
            r.awaitReady(Duration.ofMinutes(2));
        } catch (Exception e) {
            r.close();
            throw e;
        }
        return r;
    }

    /**
     * The registry's command line: every listener on 127.0.0.1 (the management interface included, which Apicurio
     * would open on 0.0.0.0:9000), scratch files under {@code workDir}.
     */
    public static List<String> command(Path workDir, int port) throws IOException {
        Path jar = home().resolve("quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IOException("no schema registry at " + home() + ": build it with `mvn -DskipTests package` (the cluster "
                    + "module unpacks Apicurio Registry there), or point -Dhmem.registry.home at an Apicurio distribution");
        }
        List<String> cmd = new ArrayList<>(List.of(java21().toString(), "-Xmx384m",
                "-Djava.io.tmpdir=" + Files.createDirectories(workDir.resolve("registry-tmp")),
                "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port,
                "-Dquarkus.management.host=127.0.0.1", "-Dquarkus.management.port=" + EmbeddedKafka.freePort(),
                "-Dquarkus.log.level=WARN", "-jar", jar.toString()));
        return cmd;
    }

    /** A JDK 21 or newer to run the registry on (it is compiled for 21). */
    static Path java21() throws IOException {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv("HMEM_REGISTRY_JAVA");
        if (env != null && !env.isBlank()) candidates.add(Path.of(env));
        candidates.add(Path.of(System.getProperty("java.home"), "bin", "java"));
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> s = Files.list(jvms)) {
                s.sorted(Comparator.reverseOrder()).forEach(d -> candidates.add(d.resolve("bin").resolve("java")));
            }
        }
        for (Path c : candidates) {
            if (Files.isExecutable(c) && feature(c).orElse(0) >= 21) return c;
        }
        throw new IOException("the schema registry needs Java 21 or newer and none was found (tried " + candidates
                + "); set HMEM_REGISTRY_JAVA to its bin/java");
    }

    /** The Java feature version a {@code java} binary reports, from its {@code release} file. */
    static Optional<Integer> feature(Path java) {
        Path release = java.getParent().getParent().resolve("release");
        try {
            for (String line : Files.readAllLines(release)) {
                if (line.startsWith("JAVA_VERSION=")) {
                    String v = line.substring(line.indexOf('"') + 1, line.lastIndexOf('"'));
                    return Optional.of(Integer.parseInt(v.split("[.+-]")[0]));
                }
            }
        } catch (IOException | RuntimeException e) {
            // not a JDK layout we can read: skip it
        }
        return Optional.empty();
    }

    /** The Confluent-compatible API's root, for {@code --schema-registry}. */
    public String url() {
        return "http://127.0.0.1:" + port + "/apis/ccompat/v7";
    }

    public Path log() {
        return log;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    private void awaitReady(Duration timeout) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("the schema registry exited with " + process.exitValue() + " at start; its log: " + log);
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/subjects")).timeout(Duration.ofSeconds(2))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return;
            } catch (IOException notYet) {
                // still starting
            }
            if (System.nanoTime() > deadline) throw new IOException("the schema registry did not answer within " + timeout + "; its log: " + log);
            Thread.sleep(250);
        }
    }

    /** Stops the process (and waits for it). */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
    }
}
