package dev.hmem.cli.cluster;

import dev.hmem.cli.kafka.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hmem cluster up | status | down | submit | savepoint | cancel | rescale | restart}. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "A local Flink cluster and Kafka broker, each its own process on 127.0.0.1, and the job on it.",
        subcommands = {ClusterCommand.Up.class, ClusterCommand.Status.class, ClusterCommand.Top.class, ClusterCommand.Down.class,
                ClusterCommand.Submit.class, ClusterCommand.Savepoint.class, ClusterCommand.Cancel.class,
                ClusterCommand.Rescale.class, ClusterCommand.Restart.class})
public final class ClusterCommand {

    /** Where hmem lives (the launcher sets hmem.home; otherwise the jar's grandparent, cli/target/..). */
    public static Path home() {
        String h = System.getProperty("hmem.home");
        if (h != null) return Path.of(h);
        try {
            Path jar = Path.of(ClusterCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent().getParent().getParent();
        } catch (Exception e) {
            return Path.of(".");
        }
    }

    /** The run directory option every subcommand shares. */
    static final class RunDir {
        @Option(names = "--run-dir", description = "the cluster's directory (configuration, logs, pids, checkpoints); default ~/.cache/hmem/cluster")
        Path dir = Path.of(System.getProperty("user.home"), ".cache", "hmem", "cluster");

        LocalCluster cluster() throws Exception {
            LocalCluster c = LocalCluster.at(dir);
            if (!c.isConfigured()) throw new IllegalStateException("no cluster in " + dir + " (run `hmem cluster up` first)");
            return c;
        }
    }

    static final class JobJar {
        @Option(names = "--job-jar", description = "the job jar; default jobs/target/hmem-job.jar")
        Path jar = home().resolve("jobs").resolve("target").resolve("hmem-job.jar");
    }

    @Command(name = "up", mixinStandardHelpOptions = true, description = "Start a broker, a JobManager and TaskManagers.")
    static final class Up implements Callable<Integer> {
        @Mixin RunDir run;
        @Option(names = "--task-managers", defaultValue = "2") int taskManagers;
        @Option(names = "--slots", defaultValue = "1", description = "slots per TaskManager") int slots;
        @Option(names = "--tm-memory-mb", defaultValue = "3072", description = "process size of a TaskManager") int tmMemory;
        @Option(names = "--rest-port", defaultValue = "8081", description = "web UI and REST port (0: any free one)") int restPort;
        @Option(names = "--flink-home", description = "lib/ and plugins/ of Flink; default cluster/target/flink (assembled by Maven)")
        Path flinkHome = home().resolve("cluster").resolve("target").resolve("flink");
        @Option(names = "--deploy-dir", description = "where config.yaml comes from; default deploy/")
        Path deployDir = home().resolve("deploy");
        @Option(names = "--set", description = "a Flink option, key=value (repeatable)") Map<String, String> overrides = new LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            LocalCluster c = LocalCluster.at(run.dir);
            System.out.println("starting Kafka, a JobManager and " + taskManagers + " TaskManagers in " + run.dir + " ...");
            long t0 = System.nanoTime();
            try {
                c.up(new LocalCluster.Options(flinkHome, deployDir, taskManagers, slots, tmMemory, restPort, overrides));
            } catch (Exception e) {
                System.err.println("starting failed; stopping what did start");
                c.down();
                throw e;
            }
            System.out.printf("up in %.1f s%n%s", (System.nanoTime() - t0) / 1e9, c.status());
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "The processes, their logs and the cluster's state.")
    static final class Status implements Callable<Integer> {
        @Mixin RunDir run;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = LocalCluster.at(run.dir);
            System.out.print(c.status());
            if (c.isConfigured() && c.rest().overview().isPresent()) {
                c.rest().jobs().forEach((id, state) -> System.out.println("  job " + id + " " + state));
            }
            return c.jobManager().isAlive() ? 0 : 1;
        }
    }

    @Command(name = "top", mixinStandardHelpOptions = true,
            description = "CPU of each cluster process over an interval, by thread group, and of the rest of the machine.")
    static final class Top implements Callable<Integer> {
        @Mixin RunDir run;
        @picocli.CommandLine.Option(names = "--seconds", defaultValue = "30", description = "the interval measured") int seconds;
        @picocli.CommandLine.Option(names = "--groups", defaultValue = "5", description = "thread groups shown per process") int groups;

        @Override
        public Integer call() throws Exception {
            if (seconds < 1) throw new IllegalArgumentException("--seconds must be >= 1, got " + seconds);
            Map<String, Long> pids = LocalCluster.at(run.dir).livePids();
            if (pids.isEmpty()) throw new IllegalStateException("no running process in " + run.dir + " (`cluster up` first)");
            CpuUsage.Snapshot a = CpuUsage.snapshot(pids);
            long t0 = System.nanoTime();
            for (int s = 0; s < seconds; s++) {
                Thread.sleep(1000);
                System.err.printf("\r[cluster top] %d/%d s", s + 1, seconds);
            }
            System.err.println();
            CpuUsage.Snapshot b = CpuUsage.snapshot(pids);
            System.out.print(CpuUsage.report(a, b, (System.nanoTime() - t0) / 1e9, groups));
            return 0;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true, description = "Stop exactly the processes `up` started.")
    static final class Down implements Callable<Integer> {
        @Mixin RunDir run;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = LocalCluster.at(run.dir);
            List<ManagedProcess> ps = c.processes();
            c.down();
            for (ManagedProcess p : ps) System.out.println("stopped " + p.name());
            return 0;
        }
    }

    @Command(name = "submit", mixinStandardHelpOptions = true,
            description = "Run the inference job (its options after --, as `flink run` passes them; --bootstrap-servers defaults to the local broker).")
    static final class Submit implements Callable<Integer> {
        @Mixin RunDir run;
        @Mixin JobJar jar;
        @Option(names = "--from-savepoint", description = "a savepoint or retained checkpoint to start from") String savepoint;
        @Option(names = "--topics-partitions", defaultValue = "2", description = "partitions of the topics created on the local broker") int partitions;
        @Parameters(description = "InferenceJob options (--model DIR --bank DIR --parallelism N ...)") List<String> jobArgs = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            LocalCluster c = run.cluster();
            List<String> args = new ArrayList<>(jobArgs);
            if (!args.contains("--bootstrap-servers")) {
                args.addAll(List.of("--bootstrap-servers", c.bootstrapServers()));
                EmbeddedKafka.createTopics(c.bootstrapServers(), partitions, option(args, "--prompts-topic", "hmem-prompts"),
                        option(args, "--results-topic", "hmem-results"), option(args, "--dead-letter-topic", "hmem-dead-letters"));
            }
            ClusterJobs jobs = new ClusterJobs(c, jar.jar);
            String id = jobs.submit(args, savepoint);
            System.out.println("submitted job " + id + "; waiting for its tasks ...");
            jobs.awaitRunning(id, Duration.ofMinutes(3));
            System.out.println("job " + id + " is running (" + c.rest().address() + "/#/job/running/" + id + "/overview)");
            return 0;
        }

        static String option(List<String> args, String name, String dflt) {
            int i = args.indexOf(name);
            return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : dflt;
        }
    }

    @Command(name = "savepoint", mixinStandardHelpOptions = true, description = "Stop a job with a savepoint; prints its path.")
    static final class Savepoint implements Callable<Integer> {
        @Mixin RunDir run;
        @Parameters(description = "job id") String job;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = run.cluster();
            System.out.println(c.rest().stopWithSavepoint(job, c.savepointDir().toUri().toString(), Duration.ofMinutes(5)));
            return 0;
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a job (its latest checkpoints are retained).")
    static final class Cancel implements Callable<Integer> {
        @Mixin RunDir run;
        @Parameters(description = "job id") String job;

        @Override
        public Integer call() throws Exception {
            run.cluster().rest().cancel(job);
            System.out.println("cancelled " + job);
            return 0;
        }
    }

    @Command(name = "rescale", mixinStandardHelpOptions = true,
            description = "Stop a job with a savepoint and run it again from there with another number of generate subtasks.")
    static final class Rescale implements Callable<Integer> {
        @Mixin RunDir run;
        @Mixin JobJar jar;
        @Parameters(description = "job id") String job;
        @Option(names = "--parallelism", required = true, description = "generate subtasks") int parallelism;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = run.cluster();
            ClusterJobs jobs = new ClusterJobs(c, jar.jar);
            String id = jobs.rescale(job, parallelism);
            jobs.awaitRunning(id, Duration.ofMinutes(3));
            System.out.println("job " + job + " stopped with a savepoint; running again as " + id + " with parallelism " + parallelism);
            return 0;
        }
    }

    @Command(name = "restart", mixinStandardHelpOptions = true,
            description = "Run a cancelled or failed job again from its latest retained checkpoint.")
    static final class Restart implements Callable<Integer> {
        @Mixin RunDir run;
        @Mixin JobJar jar;
        @Parameters(description = "job id") String job;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = run.cluster();
            ClusterJobs jobs = new ClusterJobs(c, jar.jar);
            String id = jobs.restartFromLatestCheckpoint(job);
            jobs.awaitRunning(id, Duration.ofMinutes(3));
            System.out.println("job " + job + " restarted from its latest checkpoint as " + id);
            return 0;
        }
    }
}
