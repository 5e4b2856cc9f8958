package dev.hmem.it;

import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.schemas.GenerationResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads a results topic from the beginning on its own thread, as a client does, with either
 * isolation level: read_committed sees what the job committed (exactly once), read_uncommitted also
 * what transactions wrote and later aborted. Keeps every record with the time it was written.
 */
final class ResultReader implements AutoCloseable {

    /** A result as read: the decoded record, the broker's timestamp of its write, and when this reader got it. */
    record Read(GenerationResult result, long writtenAt, long receivedAt) {}

    private final Thread thread;
    private final List<Read> reads = new ArrayList<>();
    private volatile boolean stop;

    ResultReader(String bootstrap, String topic, boolean committedOnly) {
        thread = new Thread(() -> {
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap);
            p.put("auto.offset.reset", "earliest");
            p.put("isolation.level", committedOnly ? "read_committed" : "read_uncommitted");
            // No consumer group: partitions assigned by hand, positions kept only in this consumer.
            // A group member that loses its coordinator (the broker-restart test) rejoins at the
            // last auto-committed offset and reads again what it had read since — duplicates of
            // the reader, not of the topic, which this test must not confuse with the job's.
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                List<org.apache.kafka.common.TopicPartition> parts = new ArrayList<>();
                while (!stop && parts.isEmpty()) {
                    for (org.apache.kafka.common.PartitionInfo i : c.partitionsFor(topic, Duration.ofSeconds(10))) {
                        parts.add(new org.apache.kafka.common.TopicPartition(topic, i.partition()));
                    }
                    if (parts.isEmpty()) sleep(200);
                }
                c.assign(parts);
                c.seekToBeginning(parts);
                while (!stop) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                        long now = System.currentTimeMillis();
                        synchronized (reads) {
                            reads.add(new Read(ResultCodec.decodeResult(r.value()), r.timestamp(), now));
                        }
                    }
                }
            }
        }, "results-" + (committedOnly ? "committed" : "uncommitted"));
        thread.setDaemon(true);
        thread.start();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    List<Read> reads() {
        synchronized (reads) {
            return new ArrayList<>(reads);
        }
    }

    /** The results read so far, in order. */
    List<GenerationResult> results() {
        return reads().stream().map(Read::result).toList();
    }

    /** How many times each id was read. */
    Map<String, Integer> counts() {
        Map<String, Integer> m = new HashMap<>();
        for (Read r : reads()) m.merge(r.result().getId(), 1, Integer::sum);
        return m;
    }

    /** Reads of ids read more than once (every copy beyond the first). */
    int duplicates() {
        return counts().values().stream().mapToInt(n -> n - 1).sum();
    }

    /** Waits until every id of {@code ids} was read, or the timeout. */
    boolean awaitAll(Collection<String> ids, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (counts().keySet().containsAll(ids)) return true;
            Thread.sleep(200);
        }
        return false;
    }

    /**
     * The first read of a result the job completed after {@code epochMillis} (its completed_at):
     * a result of the job as it runs after a failure at that time, not one still in flight before.
     */
    java.util.Optional<Read> firstCompletedAfter(long epochMillis) {
        return reads().stream().filter(r -> r.result().getCompletedAt() != null
                        && r.result().getCompletedAt().toEpochMilli() > epochMillis)
                .min(java.util.Comparator.comparingLong(Read::receivedAt));
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(10_000);
    }
}
