package dev.hmem.cli.cluster;

import dev.hmem.cli.kafka.EmbeddedKafka;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;

/**
 * A Flink session cluster and a Kafka broker on this machine, each its own OS process, everything on
 * 127.0.0.1, started the way Flink's scripts start a standalone cluster: {@code BashJavaUtils}
 * computes each process's JVM flags and resource options from {@code config.yaml}, the JobManager
 * runs {@code StandaloneSessionClusterEntrypoint} (web UI included) and each TaskManager
 * {@code TaskManagerRunner}. The configuration is {@code deploy/config.yaml} with addresses, ports,
 * directories and sizes made local. A run directory holds the configuration, logs, pid files,
 * checkpoints and savepoints; {@link #down} stops exactly the processes it records.
 */
public final class LocalCluster {

    /**
     * What to start.
     *
     * @param flinkHome    a Flink installation: lib/ and plugins/ (cluster/target/flink, or a real distribution)
     * @param deployDir    where config.yaml comes from
     * @param taskManagers TaskManager processes
     * @param slots        slots per TaskManager
     * @param tmMemory     process size of a TaskManager, MiB
     * @param restPort     the web UI and REST port (0: a free one)
     * @param overrides    further configuration (key → value), applied last
     * @param highAvailability a ZooKeeper process and Flink's ZooKeeper high availability, so that a JobManager that
     *                     dies and is started again resumes its jobs from their latest checkpoints
     */
    public record Options(Path flinkHome, Path deployDir, int taskManagers, int slots, int tmMemory, int restPort,
                          Map<String, String> overrides, boolean highAvailability) {
        public Options(Path flinkHome, Path deployDir, int taskManagers, int slots, int tmMemory, int restPort,
                       Map<String, String> overrides) {
            this(flinkHome, deployDir, taskManagers, slots, tmMemory, restPort, overrides, false);
        }
    }

    private final Path run;
    private final Properties state = new Properties();

    private LocalCluster(Path run) throws IOException {
        this.run = run.toAbsolutePath();
        Path f = this.run.resolve("cluster.properties");
        if (Files.exists(f)) {
            try (InputStream in = Files.newInputStream(f)) {
                state.load(in);
            }
        }
    }

    /** The cluster recorded in {@code runDir} (none yet if it was never started there). */
    public static LocalCluster at(Path runDir) throws IOException {
        return new LocalCluster(runDir);
    }

    public Path runDir() {
        return run;
    }

    private void saveState() throws IOException {
        Files.createDirectories(run);
        try (OutputStream out = Files.newOutputStream(run.resolve("cluster.properties"))) {
            state.store(out, "hmem local cluster");
        }
    }

    public boolean isConfigured() {
        return state.containsKey("rest.port");
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + state.getProperty("kafka.port");
    }

    /** The cluster's REST API; jobs submitted through it are compiled with the cluster's own config.yaml, as {@code flink run} does. */
    public FlinkRest rest() {
        Path conf = run.resolve("conf");
        Configuration c = Files.exists(conf.resolve("config.yaml")) ? GlobalConfiguration.loadConfiguration(conf.toString()) : new Configuration();
        return new FlinkRest("http://127.0.0.1:" + state.getProperty("rest.port"), c);
    }

    public Path savepointDir() {
        return run.resolve("savepoints");
    }

    // ------------------------------------------------------------------ processes

    ManagedProcess process(String name) {
        return new ManagedProcess(name, run.resolve("pids").resolve(name + ".pid"), run.resolve("log").resolve(name + ".out"));
    }

    public ManagedProcess broker() {
        return process("kafka");
    }

    public ManagedProcess jobManager() {
        return process("jobmanager");
    }

    public ManagedProcess taskManager(int index) {
        return process("taskmanager-" + index);
    }

    /** Every process this cluster has a pid file for, running or not. */
    /** The pids of the cluster's processes that are alive, by name (for CPU accounting). */
    public Map<String, Long> livePids() throws IOException {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        for (ManagedProcess p : processes()) p.pid().filter(x -> p.isAlive()).ifPresent(x -> out.put(p.name(), x));
        return out;
    }

    public List<ManagedProcess> processes() throws IOException {
        List<ManagedProcess> out = new ArrayList<>();
        Path pids = run.resolve("pids");
        if (!Files.isDirectory(pids)) return out;
        try (Stream<Path> s = Files.list(pids)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (n.endsWith(".pid")) out.add(process(n.substring(0, n.length() - 4)));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ up and down

    /** Writes the configuration, then starts the broker, the JobManager and the TaskManagers; waits until all serve. */
    public void up(Options o) throws Exception {
        if (jobManager().isAlive() || broker().isAlive()) {
            throw new IllegalStateException("a cluster is already running in " + run + " (`cluster down` first)");
        }
        Path lib = o.flinkHome().resolve("lib");
        if (!Files.isDirectory(lib)) {
            throw new IllegalArgumentException(lib + " does not exist: build it with `mvn package` (the first `./hmem` call does) "
                    + "(cluster/target/flink) or pass --flink-home of a Flink 2.2 installation");
        }
        Files.createDirectories(run);
        // A fresh cluster: the broker's data, logs and scratch of a previous one go; savepoints and
        // retained checkpoints stay, so a job can be restarted on the new cluster from one.
        for (String d : List.of("kafka-data", "log", "tmp", "pids", "web-upload", "jobs", "conf", "djl-cache", "zookeeper-data", "ha")) {
            deleteRecursively(run.resolve(d));
        }
        state.clear();
        state.setProperty("flink.home", o.flinkHome().toAbsolutePath().toString());
        state.setProperty("rest.port", Integer.toString(o.restPort() > 0 ? o.restPort() : EmbeddedKafka.freePort()));
        state.setProperty("rpc.port", Integer.toString(EmbeddedKafka.freePort()));
        state.setProperty("kafka.port", Integer.toString(EmbeddedKafka.freePort()));
        state.setProperty("kafka.controller.port", Integer.toString(EmbeddedKafka.freePort()));
        state.setProperty("task.managers", Integer.toString(o.taskManagers()));
        if (o.highAvailability()) state.setProperty("zookeeper.port", Integer.toString(EmbeddedKafka.freePort()));
        saveState();
        ClusterConfig.write(o, run, Integer.parseInt(state.getProperty("rest.port")),
                Integer.parseInt(state.getProperty("rpc.port")), zookeeperQuorum().orElse(null));

        Path kafkaLogs = Files.createDirectories(run.resolve("kafka-data"));
        Properties server = EmbeddedKafka.serverProperties(kafkaLogs, Integer.parseInt(state.getProperty("kafka.port")),
                Integer.parseInt(state.getProperty("kafka.controller.port")));
        EmbeddedKafka.format(server, run.resolve("conf").resolve("kafka.properties"));
        startBroker();
        if (o.highAvailability()) startZooKeeper();
        startJobManager();
        for (int i = 0; i < o.taskManagers(); i++) startTaskManager(i);
        awaitTaskManagers(o.taskManagers(), Duration.ofMinutes(2));
    }

    /** Stops every process this cluster started (TaskManagers, JobManager, broker), gracefully. */
    public void down() throws IOException {
        for (ManagedProcess p : processes()) {
            if (p.name().startsWith("taskmanager-")) p.stop(false, Duration.ofSeconds(30));
        }
        jobManager().stop(false, Duration.ofSeconds(30));
        zookeeper().stop(false, Duration.ofSeconds(30));
        broker().stop(false, Duration.ofSeconds(30));
    }

    private Path java() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    private Path flinkHome() {
        return Path.of(state.getProperty("flink.home"));
    }

    /** lib/*.jar, sorted as the scripts sort them. */
    private String flinkClasspath() throws IOException {
        try (Stream<Path> s = Files.list(flinkHome().resolve("lib"))) {
            return String.join(":", s.filter(p -> p.toString().endsWith(".jar")).sorted().map(Path::toString).toList());
        }
    }

    /** The JVM flags and -D options {@code BashJavaUtils} derives from the configuration for a JobManager or TaskManager. */
    private List<List<String>> resourceParams(String command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(java().toString(), "-cp", flinkClasspath(),
                "org.apache.flink.runtime.util.bash.BashJavaUtils", command, "--configDir", run.resolve("conf").toString())
                .redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException("BashJavaUtils " + command + " failed:\n" + out);
        List<String> results = out.lines().filter(l -> l.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:"))
                .map(l -> l.substring("BASH_JAVA_UTILS_EXEC_RESULT:".length())).toList();
        if (results.size() < 2) throw new IllegalStateException("BashJavaUtils " + command + " printed no result:\n" + out);
        List<String> jvm = List.of(results.get(results.size() - 2).trim().split("\\s+"));
        String dyn = results.get(results.size() - 1).trim();
        return List.of(jvm, dyn.isEmpty() ? List.of() : List.of(dyn.split("\\s+")));
    }

    /**
     * The scripts' JVM arguments: resource flags, then {@code env.java.default-opts.*} and
     * {@code env.java.opts.*} (all, then the role's), then logging, then the classpath.
     */
    private List<String> jvmArgs(List<String> resources, String role, String logName) throws IOException {
        List<String> a = new ArrayList<>(resources);
        Map<String, String> conf = ClusterConfig.read(run.resolve("conf"));
        for (String key : List.of("env.java.default-opts.all", "env.java.default-opts." + role, "env.java.opts.all",
                "env.java.opts." + role)) {
            String v = conf.get(key);
            if (v != null && !v.isBlank()) a.addAll(List.of(v.trim().split("\\s+")));
        }
        a.add("-Dlog.file=" + run.resolve("log").resolve(logName + ".log"));
        a.add("-Dlog4j.configurationFile=file:" + run.resolve("conf").resolve("log4j.properties"));
        a.add("-Djava.io.tmpdir=" + Files.createDirectories(run.resolve("tmp")));
        a.add("-classpath");
        a.add(flinkClasspath());
        return a;
    }

    private void startFlink(ManagedProcess p, List<String> jvm, String main, List<String> args) throws IOException {
        List<String> mainAndArgs = new ArrayList<>();
        mainAndArgs.add(main);
        mainAndArgs.addAll(List.of("--configDir", run.resolve("conf").toString()));
        mainAndArgs.addAll(args);
        startWithEnv(p, jvm, mainAndArgs);
    }

    private void startWithEnv(ManagedProcess p, List<String> jvm, List<String> mainAndArgs) throws IOException {
        // Flink finds its plugins and configuration through the environment, as its scripts set it.
        Map<String, String> env = new TreeMap<>(System.getenv());
        env.put("FLINK_CONF_DIR", run.resolve("conf").toString());
        env.put("FLINK_PLUGINS_DIR", flinkHome().resolve("plugins").toString());
        env.put("FLINK_LIB_DIR", flinkHome().resolve("lib").toString());
        env.put("FLINK_LOG_DIR", run.resolve("log").toString());
        p.start(java(), jvm, mainAndArgs, run, env);
    }

    public void startJobManager() throws Exception {
        List<List<String>> r = resourceParams("GET_JM_RESOURCE_PARAMS");
        startFlink(jobManager(), jvmArgs(r.get(0), "jobmanager", "jobmanager"),
                "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", r.get(1));
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (rest().overview().isEmpty()) {
            if (!jobManager().isAlive()) throw new IllegalStateException("the JobManager exited; see " + jobManager().output());
            if (System.nanoTime() > deadline) throw new IllegalStateException("the JobManager's REST API did not answer");
            Thread.sleep(200);
        }
    }

    /** Starts TaskManager {@code index} (again, after a kill: a replacement with the same name). */
    public void startTaskManager(int index) throws Exception {
        List<List<String>> r = resourceParams("GET_TM_RESOURCE_PARAMS");
        List<String> args = new ArrayList<>(r.get(1));
        Path tmp = Files.createDirectories(run.resolve("tmp").resolve("taskmanager-" + index));
        args.addAll(List.of("-D", "io.tmp.dirs=" + tmp, "-D", "taskmanager.resource-id=taskmanager-" + index));
        startFlink(taskManager(index), jvmArgs(r.get(0), "taskmanager", "taskmanager-" + index),
                "org.apache.flink.runtime.taskexecutor.TaskManagerRunner", args);
    }

    /** The ZooKeeper quorum of a cluster with high availability. */
    public java.util.Optional<String> zookeeperQuorum() {
        String p = state.getProperty("zookeeper.port");
        return p == null ? java.util.Optional.empty() : java.util.Optional.of("127.0.0.1:" + p);
    }

    public ManagedProcess zookeeper() {
        return process("zookeeper");
    }

    /**
     * Starts a standalone ZooKeeper server (Apache ZooKeeper 3.8 from Maven, cluster/target/zookeeper) on 127.0.0.1:
     * the client port on loopback, the admin HTTP server off, its data in the run directory.
     */
    public void startZooKeeper() throws Exception {
        Path lib = flinkHome().getParent().resolve("zookeeper");
        if (!Files.isDirectory(lib)) throw new IllegalStateException(lib + " does not exist: build it with `mvn package` (cluster/)");
        int port = Integer.parseInt(state.getProperty("zookeeper.port"));
        Path cfg = run.resolve("conf").resolve("zoo.cfg");
        Files.writeString(cfg, String.join("\n", "tickTime=2000", "initLimit=10", "syncLimit=5",
                "dataDir=" + Files.createDirectories(run.resolve("zookeeper-data")), "clientPort=" + port,
                "clientPortAddress=127.0.0.1", "admin.enableServer=false", "maxClientCnxns=200") + "\n");
        String cp;
        try (Stream<Path> s = Files.list(lib)) {
            cp = String.join(":", s.filter(p -> p.toString().endsWith(".jar")).sorted().map(Path::toString).toList());
        }
        startWithEnv(zookeeper(), List.of("-Xmx256m", "-Dzookeeper.log.dir=" + run.resolve("log"), "-cp", cp),
                List.of("org.apache.zookeeper.server.ZooKeeperServerMain", cfg.toString()));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException notYet) {
                if (!zookeeper().isAlive()) throw new IllegalStateException("ZooKeeper exited; see " + zookeeper().output());
                if (System.nanoTime() > deadline) throw new IllegalStateException("ZooKeeper did not listen on " + port);
                Thread.sleep(200);
            }
        }
    }

    /** Kills the JobManager as a crash would (SIGKILL); with high availability, {@link #startJobManager} brings it back. */
    public void killJobManager() throws IOException {
        jobManager().stop(true, Duration.ofSeconds(10));
    }

    /** Kills TaskManager {@code index} as a crash would (SIGKILL). */
    public void killTaskManager(int index) throws IOException {
        taskManager(index).stop(true, Duration.ofSeconds(10));
    }

    /** Waits until {@code n} TaskManagers are registered with the JobManager. */
    public void awaitTaskManagers(int n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int registered = rest().overview().map(o -> o.getNumTaskManagersConnected()).orElse(0);
            if (registered >= n) return;
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(registered + " of " + n + " TaskManagers registered; see " + run.resolve("log"));
            }
            Thread.sleep(250);
        }
    }

    /**
     * Starts the broker process on its formatted log directory. Its classpath is this JVM's: the
     * hmem jar (or, in tests, the module classpath) carries the Kafka broker.
     */
    public void startBroker() throws Exception {
        List<String> jvm = List.of("-Xmx768m", "-Djava.io.tmpdir=" + Files.createDirectories(run.resolve("tmp")),
                "-Dlog4j2.configurationFile=file:" + run.resolve("conf").resolve("log4j-kafka.properties"),
                "-Dkafka.log.file=" + run.resolve("log").resolve("kafka.log"),
                "-cp", System.getProperty("java.class.path"));
        startWithEnv(broker(), jvm, List.of("kafka.Kafka", run.resolve("conf").resolve("kafka.properties").toString()));
        EmbeddedKafka.awaitReady(bootstrapServers(), Duration.ofMinutes(1));
    }

    /** Stops the broker (gracefully, or {@code force}: SIGKILL). */
    public void stopBroker(boolean force) throws IOException {
        broker().stop(force, Duration.ofSeconds(30));
    }

    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(f);
        }
    }

    /** One line per process and the JobManager's view of the cluster. */
    public String status() throws IOException {
        StringBuilder sb = new StringBuilder("run directory " + run + "\n");
        for (ManagedProcess p : processes()) sb.append("  ").append(p).append("   log ").append(p.output()).append('\n');
        if (!isConfigured()) return sb.append("  (never started here)\n").toString();
        sb.append("  Kafka ").append(bootstrapServers()).append("   Flink web UI ").append(rest().address()).append('\n');
        rest().overview().ifPresentOrElse(
                o -> sb.append(String.format("  %d TaskManagers, %d of %d slots free, jobs: %d running, %d finished, %d failed, %d cancelled%n",
                        o.getNumTaskManagersConnected(), o.getNumSlotsAvailable(), o.getNumSlotsTotal(),
                        o.getNumJobsRunningOrPending(), o.getNumJobsFinished(), o.getNumJobsFailed(), o.getNumJobsCancelled())),
                () -> sb.append("  the JobManager does not answer\n"));
        return sb.toString();
    }
}
