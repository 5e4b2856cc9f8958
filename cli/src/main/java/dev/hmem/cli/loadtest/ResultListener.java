package dev.hmem.cli.loadtest;

import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.schemas.GenerationResult;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The results topic as a client reads it (read_committed, from its end when the listener starts),
 * handing each awaited request its result. Results of requests nobody awaits (other clients') are
 * skipped.
 */
final class ResultListener implements AutoCloseable {

    /** A result and when it arrived (System.nanoTime). */
    record Arrival(GenerationResult result, long nanos) {}

    private final Map<String, CompletableFuture<Arrival>> awaited = new ConcurrentHashMap<>();
    /** Requests given up on (not answered in their step's drain) whose answers have not come yet. */
    private final java.util.Set<String> late = ConcurrentHashMap.newKeySet();
    /** Ids answered so far: a second answer to one is a duplicate, which exactly-once delivery must never show. */
    private final java.util.Set<String> answered = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicLong duplicates = new java.util.concurrent.atomic.AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;

    ResultListener(String bootstrap, String topic, Map<String, String> clientProperties) {
        KafkaConsumer<byte[], byte[]> c = dev.hmem.cli.kafka.TopicEnd.open(bootstrap, topic, clientProperties, "read_committed");
        thread = new Thread(() -> {
            try (c) {
                while (running) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(50))) {
                        long now = System.nanoTime();
                        GenerationResult g;
                        try {
                            g = ResultCodec.decodeResult(r.value());
                        } catch (IllegalArgumentException notOurs) {
                            continue;
                        }
                        CompletableFuture<Arrival> f = awaited.remove(g.getId());
                        if (f != null) {
                            f.complete(new Arrival(g, now));
                            answered.add(g.getId());
                        } else if (late.remove(g.getId())) {
                            answered.add(g.getId());
                        } else if (answered.contains(g.getId())) {
                            duplicates.incrementAndGet();
                        }
                    }
                }
            }
        }, "loadtest-results");
        thread.setDaemon(true);
        thread.start();
    }

    /** Registers interest in {@code id}'s result before it is sent. */
    CompletableFuture<Arrival> await(String id) {
        CompletableFuture<Arrival> f = new CompletableFuture<>();
        awaited.put(id, f);
        return f;
    }

    void forget(String id) {
        if (awaited.remove(id) != null) late.add(id);
    }

    /** Second answers to one of this test's requests seen so far. */
    long duplicates() {
        return duplicates.get();
    }

    /** Answers still owed for requests given up on: the job's backlog from earlier steps. */
    int backlog() {
        return late.size();
    }

    /** Stops waiting for the backlog (its answers are then skipped like other clients'). */
    void abandonBacklog() {
        late.clear();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join(5_000);
    }
}
