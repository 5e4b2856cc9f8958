package dev.hmem.cli.control;

import dev.hmem.operators.codec.ControlCodec;
import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends one command to a job's control topic and reads its status topic until every routing and generating subtask
 * has given its final word on it (activate: route "active" or "refused", generate "ready" or "refused"; block and
 * unblock: "applied"), or the time is up. The status topic is read from its end as it was before the command went
 * out, so only this command's reports count (they carry its request id).
 */
public final class ControlClient {

    /** What the subtasks said: every report in arrival order, and whether all of them reached a final state. */
    public record Outcome(List<ControlStatus> reports, boolean complete) {
        public boolean refused() {
            return reports.stream().anyMatch(r -> r.state().equals("refused"));
        }

        /** From the command's send to the last subtask's final report, ms (or -1 while incomplete). */
        public long millisToFinal(long sentAt) {
            return complete ? reports.stream().filter(ControlClient::isFinal).mapToLong(ControlStatus::at).max().orElse(sentAt) - sentAt : -1;
        }
    }

    private final String bootstrap;
    private final Map<String, String> kafkaProperties;
    private final String controlTopic;
    private final String statusTopic;

    public ControlClient(String bootstrap, Map<String, String> kafkaProperties, String controlTopic, String statusTopic) {
        this.bootstrap = bootstrap;
        this.kafkaProperties = Map.copyOf(kafkaProperties);
        this.controlTopic = controlTopic;
        this.statusTopic = statusTopic;
    }

    static boolean isFinal(ControlStatus s) {
        return switch (s.state()) {
            case "active", "ready", "refused", "applied" -> true;
            default -> false;
        };
    }

    /** Sends {@code c} and waits for the reports; {@code progress} sees each one as it arrives. */
    public Outcome send(ControlCommand c, Duration timeout, Consumer<ControlStatus> progress) throws InterruptedException {
        // The end fixed before the command goes out: only its reports are read.
        try (KafkaConsumer<byte[], byte[]> consumer = dev.hmem.cli.kafka.TopicEnd.open(bootstrap, statusTopic, kafkaProperties,
                "read_uncommitted")) {
            produce(c);
            List<ControlStatus> reports = new ArrayList<>();
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < end) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.key() == null || !new String(r.key(), StandardCharsets.UTF_8).equals(c.requestId())) continue;
                    ControlStatus s;
                    try {
                        s = ControlCodec.decodeStatus(r.value());
                    } catch (IllegalArgumentException e) {
                        continue;  // not a report: another writer's record on the topic
                    }
                    reports.add(s);
                    progress.accept(s);
                }
                if (complete(c, reports)) return new Outcome(reports, true);
            }
            return new Outcome(reports, false);
        }
    }

    private void produce(ControlCommand c) {
        Properties pp = new Properties();
        pp.putAll(kafkaProperties);
        pp.put("bootstrap.servers", bootstrap);
        pp.put("enable.idempotence", "true");
        pp.put("acks", "all");
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(controlTopic, c.requestId().getBytes(StandardCharsets.UTF_8), ControlCodec.encode(c)));
            p.flush();
        }
    }

    /**
     * Whether every subtask that must answer has: for each operator that reported, as many distinct subtasks with a
     * final state as it has subtasks; an invalid command is answered by routing alone, every other by both.
     */
    static boolean complete(ControlCommand c, List<ControlStatus> reports) {
        Map<String, Integer> parallelism = new HashMap<>();
        Map<String, Set<Integer>> done = new TreeMap<>();
        boolean invalid = false;
        for (ControlStatus s : reports) {
            parallelism.put(s.operator(), s.parallelism());
            if (isFinal(s)) done.computeIfAbsent(s.operator(), k -> new java.util.HashSet<>()).add(s.subtask());
            if (s.operator().equals("route") && s.state().equals("refused") && s.version() == null) invalid = true;
        }
        List<String> needed = invalid ? List.of("route") : List.of("route", "generate");
        for (String op : needed) {
            Integer n = parallelism.get(op);
            if (n == null || done.getOrDefault(op, Set.of()).size() < n) return false;
        }
        return true;
    }
}
