package dev.hmem.jobs.inference;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The job's topics checked before it starts: with broker auto-creation off, a missing results or dead-letter topic
 * would fail the sink on its first record, the restart would replay it, and the job would exhaust its restarts. A
 * missing topic is refused with its name, or created when {@code --create-topics} asks for it.
 */
public final class KafkaTopics {

    private KafkaTopics() {}

    /**
     * A topic created moments before (by a deploy script, or by this check) is listed only once the broker's metadata
     * has caught up; a loaded machine showed a gap of over 100 ms. Missing topics are listed again this long before
     * they count as missing.
     */
    static final long GRACE_MS = 5_000;

    /**
     * Lists the topics until all of {@code wanted} are there or {@code graceMs} has passed; returns those still missing.
     * Anything that creates topics and checks for them right after (this check, the tests' helpers) waits through here.
     */
    public static List<String> missing(Admin admin, java.util.Collection<String> wanted, long graceMs)
            throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
        long end = System.nanoTime() + graceMs * 1_000_000;
        while (true) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            List<String> missing = new ArrayList<>();
            for (String t : wanted) if (!existing.contains(t)) missing.add(t);
            if (missing.isEmpty() || System.nanoTime() > end) return missing;
            Thread.sleep(200);
        }
    }

    /**
     * Refuses a control topic of more than one partition: commands must reach every subtask in one order (an activate
     * and the block after it), and only a single partition has one.
     */
    static void checkControlPartitions(Admin admin, InferenceOptions o)
            throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
        if (o.controlTopic() == null) return;
        int n = admin.describeTopics(List.of(o.controlTopic())).allTopicNames().get(60, TimeUnit.SECONDS)
                .get(o.controlTopic()).partitions().size();
        if (n != 1) {
            throw new IllegalArgumentException("control topic " + o.controlTopic() + " has " + n + " partitions: it needs exactly "
                    + "one, so that every subtask applies the commands in one order (create it with --partitions 1)");
        }
    }

    /**
     * Where the control source starts when the job has no state: the control group's committed offset, else the
     * topic's end — as concrete offsets. A Kafka source handed "latest" or "committed" keeps that marker in its
     * checkpoints until it has read a record, so a failure soon after the first command would restore to "latest" again
     * and skip the command; a concrete offset is checkpointed as itself and the command is replayed.
     */
    public static Map<org.apache.kafka.common.TopicPartition, Long> controlStart(InferenceOptions o, String groupId)
            throws InterruptedException {
        Properties p = new Properties();
        p.putAll(o.kafkaProperties());
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, o.bootstrapServers());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        var tp = new org.apache.kafka.common.TopicPartition(o.controlTopic(), 0);
        try (Admin admin = Admin.create(p)) {
            var committed = admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS);
            var c = committed == null ? null : committed.get(tp);
            if (c != null) return Map.of(tp, c.offset());
            long end = admin.listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest())).partitionResult(tp)
                    .get(60, TimeUnit.SECONDS).offset();
            return Map.of(tp, end);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            throw new IllegalStateException("cannot read the control topic's offsets on " + o.bootstrapServers() + ": " + c.getMessage(), c);
        }
    }

    /** Checks (or creates) the prompts, results and dead-letter topics (and the control and status topics); the message names every missing one. */
    public static void ensure(InferenceOptions o) throws InterruptedException {
        Properties p = new Properties();
        p.putAll(o.kafkaProperties());
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, o.bootstrapServers());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        Set<String> wanted = new LinkedHashSet<>(List.of(o.promptsTopic(), o.resultsTopic(), o.deadLetterTopic()));
        if (o.controlTopic() != null) wanted.addAll(List.of(o.controlTopic(), o.statusTopic()));
        if (o.tokenTopic() != null) wanted.add(o.tokenTopic());
        try (Admin admin = Admin.create(p)) {
            List<String> missing = missing(admin, wanted, GRACE_MS);
            if (missing.isEmpty()) {
                checkControlPartitions(admin, o);
                return;
            }
            if (o.createTopicPartitions() == 0) {
                throw new IllegalArgumentException("Kafka topic(s) " + missing + " do not exist on " + o.bootstrapServers()
                        + ": create them (prompts, results and dead letters must all exist, and the control and status topics when "
                        + "--control-topic is given, the control topic with one partition), or pass --create-topics N to "
                        + "have the job create them with N partitions");
            }
            List<NewTopic> create = new ArrayList<>();
            for (String t : missing) {
                int partitions = t.equals(o.controlTopic()) ? 1 : o.createTopicPartitions();
                create.add(new NewTopic(t, java.util.Optional.of(partitions), java.util.Optional.empty()));
            }
            for (Map.Entry<String, org.apache.kafka.common.KafkaFuture<Void>> e : admin.createTopics(create).values().entrySet()) {
                try {
                    e.getValue().get(60, TimeUnit.SECONDS);
                } catch (ExecutionException x) {
                    if (!(x.getCause() instanceof TopicExistsException)) throw x;  // another job created it meanwhile
                }
            }
            List<String> still = missing(admin, wanted, 30_000);
            if (!still.isEmpty()) throw new IllegalStateException("Kafka topic(s) " + still + " created but not listed after 30 s");
            checkControlPartitions(admin, o);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            throw new IllegalStateException("cannot check the Kafka topics on " + o.bootstrapServers() + ": " + c.getMessage(), c);
        }
    }
}
