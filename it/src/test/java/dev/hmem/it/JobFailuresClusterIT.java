package dev.hmem.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.cli.cluster.ClusterJobs;
import dev.hmem.cli.cluster.LocalCluster;
import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.jobs.inference.InferenceOptions;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.runtime.TestModels;
import dev.hmem.runtime.anchor.Anchor;
import dev.hmem.schemas.GenerationResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The job on the local multi-process cluster — a broker, a JobManager and two TaskManagers, each
 * its own OS process — under the failures a deployment meets: a TaskManager killed (SIGKILL)
 * mid-stream and replaced, the broker stopped and restarted, stop-with-savepoint and resumption at
 * another parallelism (2 → 1 → 2), and a cancel followed by a restart from the latest retained
 * checkpoint. Each runs under a steady stream of prompts and is read back by a read_committed
 * client: every request answered exactly once, with the text the offline generator gives, and no
 * dead letters. Recovery times and what a read_uncommitted client saw go to
 * target/cluster-failures.md (docs/CLUSTER.md).
 */
@Timeout(1200)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JobFailuresClusterIT {

    static final String[] TEXTS = {
            "What is the atomic number of hydrogen?", "What is the capital of France?", "Which currency does Japan use?",
            "Tell me about memory banks.", "How are prompts routed to clusters?", "What is 3.14159?",
            "Name the capital of Germany.", "What does the anchor model keep?", "Is café a word?",
            "How many prompts arrive from Kafka?", "What is the code of the yen?", "What is helium's atomic number?"};
    static final int PROMPTS = 240;
    static final double RATE = 10;
    static final int MAX_NEW_TOKENS = 12;

    static Path work;
    static Path model;
    static Path bank;
    static LocalCluster cluster;
    static ClusterJobs jobs;
    static OfflineAnswers offline;
    static Path bankB;
    static OfflineAnswers offlineB;
    static final Map<String, String> SWAPS = new LinkedHashMap<>();
    static final Map<String, String> REPORT = new LinkedHashMap<>();

    @BeforeAll
    static void up() throws Exception {
        work = Files.createDirectories(Path.of("target", "cluster-it")).toAbsolutePath();
        model = TestModels.tinyModel(Files.createDirectories(work.resolve("model")), 21);
        bank = work.resolve("bank");
        LocalCluster.deleteRecursively(bank);
        bankB = work.resolve("bankB");
        LocalCluster.deleteRecursively(bankB);
        try (Anchor a = Anchor.load(model)) {
            TestModels.smallBank(bank, a.weights(), false, 4);
            TestModels.smallBank(bankB, a.weights(), false, 5);
        }
        cluster = LocalCluster.at(work.resolve("run"));
        Map<String, String> local = new HashMap<>();
        // A killed TaskManager is noticed within seconds (the default heartbeat timeout is 50 s).
        local.put("heartbeat.interval", "1000");
        local.put("heartbeat.timeout", "5000");
        // A killed JobManager's leadership is held by its ZooKeeper session until that expires (Flink's default 60 s,
        // capped by the server at 20 ticks = 40 s): a restarted JobManager waits that long before it can lead.
        local.put("high-availability.zookeeper.client.session-timeout", "6000");
        cluster.up(new LocalCluster.Options(Path.of(System.getProperty("hmem.flinkHome")),
                Path.of(System.getProperty("hmem.deployDir")), 2, 1, 2048, 0, local, true));  // with ZooKeeper HA
        jobs = new ClusterJobs(cluster, Path.of(System.getProperty("hmem.jobJar")));
        offline = new OfflineAnswers(model, bank);
        offlineB = new OfflineAnswers(model, bankB);
    }

    @AfterAll
    static void down() throws Exception {
        if (offline != null) offline.close();
        if (offlineB != null) offlineB.close();
        if (cluster != null) cluster.down();
        StringBuilder md = new StringBuilder("| failure | prompts | answered exactly once | recovery: failure → first result produced"
                + " | → first result visible (read_committed) | duplicates seen by read_uncommitted |\n|---|---|---|---|---|---|\n");
        REPORT.values().forEach(md::append);
        if (!SWAPS.isEmpty()) {
            md.append("\n| swap | prompts | answered exactly once | answered by initial / v2 | command → last routing switch | "
                    + "versions loaded per generate subtask after | TaskManager RSS before → after |\n|---|---|---|---|---|---|---|\n");
            SWAPS.values().forEach(md::append);
        }
        Files.writeString(Path.of("target", "cluster-failures.md"), md.toString());
    }

    /** The job's options for one scenario: its own topics and transactional ids, 2 generate subtasks. */
    static InferenceOptions job(String name, int parallelism) throws Exception {
        EmbeddedKafka.createTopics(cluster.bootstrapServers(), 2, name + "-prompts", name + "-results", name + "-dlq");
        ServingConfig serving = ServingConfig.builder(model.toString(), bank.toString()).parallelism(parallelism)
                .generator(g -> g.maxBatch(8)).build();
        return InferenceOptions.builder(cluster.bootstrapServers(), serving).topics(name + "-prompts", name + "-results", name + "-dlq")
                .groupId(name).transactionalIdPrefix(name).startingOffsets("earliest").sourceParallelism(2)
                .checkpointIntervalMs(1000).build();
    }

    /** A failure injected into a running job; returns the id of the job that runs afterwards. */
    interface Failure {
        String inject(String jobId) throws Exception;
    }

    /** Runs a stream of prompts through a fresh job, injects {@code failure} a few seconds in, and checks the answers. */
    static void scenario(String name, int parallelism, Failure failure) throws Exception {
        String job = jobs.submit(job(name, parallelism), null);
        jobs.awaitRunning(job, Duration.ofMinutes(2));
        try (ResultReader committed = new ResultReader(cluster.bootstrapServers(), name + "-results", true);
             ResultReader uncommitted = new ResultReader(cluster.bootstrapServers(), name + "-results", false);
             PromptStream stream = new PromptStream(cluster.bootstrapServers(), name + "-prompts", name, TEXTS, PROMPTS, RATE,
                     MAX_NEW_TOKENS).start()) {
            Thread.sleep(8_000);
            long failedAt = System.currentTimeMillis();
            job = failure.inject(job);
            List<PromptStream.Sent> sent = stream.awaitSent();
            List<String> ids = sent.stream().map(PromptStream.Sent::id).toList();
            boolean all = committed.awaitAll(ids, Duration.ofMinutes(3));
            Thread.sleep(3_000);  // anything answered twice would arrive by now

            Map<String, Integer> counts = committed.counts();
            assertThat(all).as("%s: every prompt answered (%d of %d)", name, counts.size(), ids.size()).isTrue();
            assertThat(counts.keySet()).as("%s: no answer to a prompt that was not sent", name).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(counts.values()).as("%s: every answer exactly once", name).allMatch(n -> n == 1);
            Map<String, PromptStream.Sent> byId = new HashMap<>();
            for (PromptStream.Sent s : sent) byId.put(s.id(), s);
            for (ResultReader.Read r : committed.reads()) {
                GenerationResult g = r.result();
                PromptStream.Sent s = byId.get(g.getId());
                OfflineAnswers.Answer want = offline.answer(s.text(), s.maxNewTokens(), null, false);
                assertThat(g.getError()).as("%s: %s", name, g.getId()).isNull();
                assertThat(g.getMemoryPath()).as("%s: route of %s", name, g.getId()).isEqualTo(want.path());
                assertThat(g.getText()).as("%s: text of %s", name, g.getId()).isEqualTo(want.text());
            }
            assertThat(TestCluster.consumeAll(cluster.bootstrapServers(), name + "-dlq", b -> b, Duration.ofSeconds(2)))
                    .as("%s: dead letters for good input", name).isEmpty();

            ResultReader.Read first = committed.firstCompletedAfter(failedAt).orElseThrow();
            long produced = first.result().getCompletedAt().toEpochMilli() - failedAt;
            long visible = first.receivedAt() - failedAt;
            REPORT.put(name, String.format(Locale.ROOT, "| %s | %d | %s | %.1f s | %.1f s | %d |%n", name, ids.size(),
                    all ? "yes" : "no", produced / 1000.0, visible / 1000.0, uncommitted.duplicates()));
            System.out.printf("[%s] recovery %d ms (visible %d ms), read_uncommitted duplicates %d%n", name, produced, visible,
                    uncommitted.duplicates());
        } finally {
            cluster.rest().cancel(job);
        }
    }

    @Test
    @Order(1)
    void aKilledTaskManagerIsReplacedAndNothingIsLostOrAnsweredTwice() throws Exception {
        scenario("kill-taskmanager", 2, job -> {
            cluster.killTaskManager(0);
            Thread.sleep(2_000);
            cluster.startTaskManager(0);
            return job;
        });
    }

    /**
     * The JobManager killed (SIGKILL) and started again: with ZooKeeper high availability the new one finds the job's
     * graph and latest checkpoint in ZooKeeper and the HA storage, the TaskManagers find the new leader, and the job
     * resumes where the checkpoint left it.
     */
    @Test
    @Order(6)
    void aKilledJobManagerIsRestartedAndTheJobResumesFromItsCheckpoint() throws Exception {
        scenario("kill-jobmanager", 2, job -> {
            cluster.killJobManager();
            Thread.sleep(2_000);
            cluster.startJobManager();
            cluster.awaitTaskManagers(2, Duration.ofMinutes(2));
            jobs.awaitRunning(job, Duration.ofMinutes(2));
            return job;
        });
    }

    @Test
    @Order(2)
    void aBrokerRestartMidStreamLosesNothing() throws Exception {
        scenario("restart-broker", 2, job -> {
            cluster.stopBroker(false);
            Thread.sleep(5_000);
            cluster.startBroker();
            return job;
        });
    }

    @Test
    @Order(3)
    void stopWithSavepointResumesAtAnotherParallelismBothWays() throws Exception {
        scenario("rescale-2-1-2", 2, job -> {
            String one = jobs.rescale(job, 1);
            jobs.awaitRunning(one, Duration.ofMinutes(2));
            Thread.sleep(6_000);
            String two = jobs.rescale(one, 2);
            jobs.awaitRunning(two, Duration.ofMinutes(2));
            return two;
        });
    }

    @Test
    @Order(4)
    void aCancelledJobRestartsFromItsLatestRetainedCheckpoint() throws Exception {
        scenario("cancel-restart", 2, job -> {
            cluster.rest().cancel(job);
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (!cluster.rest().state(job).equals("CANCELED") && System.nanoTime() < deadline) Thread.sleep(200);
            String again = jobs.restartFromLatestCheckpoint(job);
            jobs.awaitRunning(again, Duration.ofMinutes(2));
            return again;
        });
    }

    @Test
    @Order(5)
    void aTaskManagersPrometheusEndpointServesHmemMetrics() throws Exception {
        String name = "metrics";
        String job = jobs.submit(job(name, 2), null);
        jobs.awaitRunning(job, Duration.ofMinutes(2));
        try (ResultReader committed = new ResultReader(cluster.bootstrapServers(), name + "-results", true);
             PromptStream stream = new PromptStream(cluster.bootstrapServers(), name + "-prompts", name, TEXTS, 60, 20,
                     MAX_NEW_TOKENS).start()) {
            List<String> ids = stream.awaitSent().stream().map(PromptStream.Sent::id).toList();
            assertThat(committed.awaitAll(ids, Duration.ofMinutes(2))).isTrue();
            Thread.sleep(2_000);
            String metrics = scrapeTaskManagers();
            Files.writeString(Path.of("target", "taskmanager-metrics.txt"), metrics);
            Map<String, Double> hmem = PrometheusText.sum(metrics, "flink_taskmanager_job_task_operator_");
            assertThat(hmem.getOrDefault("tokens", 0.0)).as("tokens generated").isGreaterThan(60);
            assertThat(hmem.getOrDefault("cache_level_hits", 0.0) + hmem.getOrDefault("cache_level_misses", 0.0))
                    .as("cache lookups (hits + misses, every level)").isGreaterThan(60);
            assertThat(hmem.getOrDefault("cache_level_hits", 0.0)).as("cache hits").isPositive();
            assertThat(PrometheusText.labels(metrics, "flink_taskmanager_job_task_operator_cache_level_hits", "level"))
                    .as("hits per level").contains("1", "2");
            assertThat(hmem.getOrDefault("batchSize_count", 0.0)).as("batch sizes recorded").isPositive();
            assertThat(PrometheusText.quantile(metrics, "flink_taskmanager_job_task_operator_timeToFirstTokenMs", "0.5"))
                    .as("median time to first token, ms").isBetween(0.0, 5_000.0);
            assertThat(metrics).contains("flink_taskmanager_job_task_operator_tokensPerSecond");
        } finally {
            cluster.rest().cancel(job);
        }
    }

    /** The job's options with a control topic (one partition) and its status topic. */
    static InferenceOptions controlledJob(String name) throws Exception {
        EmbeddedKafka.createTopics(cluster.bootstrapServers(), 1, name + "-control", name + "-control-status");
        return job(name, 2).toBuilder().controlTopic(name + "-control").build();
    }

    /** Resident memory of each TaskManager process, MiB (from /proc). */
    static List<Long> taskManagerRssMib() throws Exception {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            long pid = cluster.taskManager(i).pid().orElseThrow();
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) out.add(Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024);
            }
        }
        return out;
    }

    /**
     * A swap under a steady stream with a TaskManager killed the moment the command is sent: the job restores, the
     * command is replayed or resumed from state, and the swap completes. Every request is answered exactly once,
     * each with the text its version (bank A as "initial", bank B as "v2") gives offline, and every prompt created
     * after the last routing switch by v2. Then nine more swaps, alternating banks: afterwards each generate subtask
     * holds one version (its versionsLoaded gauge) and TaskManager memory is reported before and after.
     */
    @Test
    @Order(7)
    void aSwapWithATaskManagerKilledMidSwapAnswersEachRequestOnceByOneVersion() throws Exception {
        String name = "swap-kill-tm";
        InferenceOptions o = controlledJob(name);
        String job = jobs.submit(o, null);
        jobs.awaitRunning(job, Duration.ofMinutes(2));
        dev.hmem.cli.control.ControlClient control = new dev.hmem.cli.control.ControlClient(cluster.bootstrapServers(),
                Map.of(), o.controlTopic(), o.statusTopic());
        try (ResultReader committed = new ResultReader(cluster.bootstrapServers(), name + "-results", true);
             PromptStream stream = new PromptStream(cluster.bootstrapServers(), name + "-prompts", name, TEXTS, PROMPTS, RATE,
                     MAX_NEW_TOKENS).start()) {
            Thread.sleep(8_000);
            long sentAt = System.currentTimeMillis();
            var swap = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return control.send(dev.hmem.operators.control.ControlCommand.activate(0, "swap-v2", "v2", bankB.toString(), null),
                            Duration.ofMinutes(4), r -> System.out.println("[swap] " + r));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(300);  // the command is on its way: kill a TaskManager in the middle of the swap
            cluster.killTaskManager(0);
            Thread.sleep(2_000);
            cluster.startTaskManager(0);
            var outcome = swap.get(5, java.util.concurrent.TimeUnit.MINUTES);
            assertThat(outcome.complete()).as("every subtask reported on the swap: %s", outcome.reports()).isTrue();
            assertThat(outcome.refused()).isFalse();

            List<PromptStream.Sent> sent = stream.awaitSent();
            List<String> ids = sent.stream().map(PromptStream.Sent::id).toList();
            assertThat(committed.awaitAll(ids, Duration.ofMinutes(3))).as("every prompt answered").isTrue();
            Thread.sleep(3_000);
            Map<String, Integer> counts = committed.counts();
            assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(counts.values()).as("every answer exactly once").allMatch(n -> n == 1);

            // The last switch of any routing subtask (a restore may have replayed the command after an earlier one).
            List<dev.hmem.operators.control.ControlStatus> reports = TestCluster.consumeAll(cluster.bootstrapServers(),
                    o.statusTopic(), dev.hmem.operators.codec.ControlCodec::decodeStatus, Duration.ofSeconds(2));
            long switchedAt = reports.stream().filter(r -> r.requestId().equals("swap-v2") && r.operator().equals("route")
                    && r.state().equals("active")).mapToLong(dev.hmem.operators.control.ControlStatus::at).max().orElseThrow();
            Map<String, PromptStream.Sent> byId = new HashMap<>();
            for (PromptStream.Sent x : sent) byId.put(x.id(), x);
            int old = 0, neu = 0;
            for (ResultReader.Read r : committed.reads()) {
                GenerationResult g = r.result();
                String v = g.getServedVersion();
                assertThat(v).as("version of %s", g.getId()).isIn("initial", "v2");
                PromptStream.Sent x = byId.get(g.getId());
                OfflineAnswers.Answer want = (v.equals("v2") ? offlineB : offline).answer(x.text(), x.maxNewTokens(), null, false);
                assertThat(g.getError()).as("%s", g.getId()).isNull();
                assertThat(g.getMemoryPath()).as("route of %s by %s", g.getId(), v).isEqualTo(want.path());
                assertThat(g.getText()).as("text of %s by %s", g.getId(), v).isEqualTo(want.text());
                if (g.getCreatedAt().toEpochMilli() > switchedAt) assertThat(v).as("%s created after the switch", g.getId()).isEqualTo("v2");
                if (v.equals("v2")) neu++;
                else old++;
            }
            assertThat(old).isPositive();
            assertThat(neu).isPositive();

            // Nine more swaps, alternating banks; TaskManager memory sampled before (after the restart) and after.
            List<Long> rssBefore = taskManagerRssMib();
            for (int k = 3; k <= 11; k++) {
                Path b = k % 2 == 0 ? bankB : bank;
                var o2 = control.send(dev.hmem.operators.control.ControlCommand.activate(0, "swap-" + k, "v" + k, b.toString(), null),
                        Duration.ofMinutes(2), r -> { });
                assertThat(o2.complete() && !o2.refused()).as("swap %d: %s", k, o2.reports()).isTrue();
            }
            try (PromptStream tail = new PromptStream(cluster.bootstrapServers(), name + "-prompts", name + "-tail", TEXTS, 40, 20,
                    MAX_NEW_TOKENS).start()) {
                List<String> tailIds = tail.awaitSent().stream().map(PromptStream.Sent::id).toList();
                assertThat(committed.awaitAll(tailIds, Duration.ofMinutes(2))).isTrue();
            }
            Thread.sleep(6_000);  // a metrics report interval
            Map<String, Double> m = PrometheusText.sum(scrapeTaskManagers(), "flink_taskmanager_job_task_operator_");
            assertThat(m.get("versionsLoaded")).as("versions held by the 2 generate subtasks after 10 swaps").isEqualTo(2.0);
            List<Long> rssAfter = taskManagerRssMib();
            SWAPS.put(name, String.format(Locale.ROOT, "| v1 → v2 with a TaskManager killed 0.3 s after the command, then 9 more "
                            + "(RSS: after the first swap → after the tenth) | %d | yes | %d / %d | %.1f s | %.0f | %s → %s MiB |%n", ids.size(), old, neu,
                    (switchedAt - sentAt) / 1000.0, m.get("versionsLoaded") / 2, rssBefore, rssAfter));
            System.out.printf("[%s] switch %d ms after the command; RSS %s -> %s MiB%n", name, switchedAt - sentAt, rssBefore, rssAfter);
        } finally {
            cluster.rest().cancel(job);
        }
    }

    /** The Prometheus text of every TaskManager (the reporter's ports, on loopback). */
    static String scrapeTaskManagers() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();
        StringBuilder all = new StringBuilder();
        for (int port = 9250; port < 9300; port++) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.body().contains("flink_taskmanager_")) all.append(r.body());
            } catch (java.io.IOException closed) {
                // nothing listens there
            }
        }
        return all.toString();
    }
}
