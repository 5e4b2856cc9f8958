package dev.hmem.cli.loadtest;

import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.schemas.TokenChunk;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The token topic as a streaming client reads it, twice: read_uncommitted (chunks as the job makes them, maybe twice
 * after a failure) and read_committed (chunks once their checkpoint has committed). For each awaited request, when its
 * first chunk arrived and how its later chunks spread over its tokens: a client's time to first token and its
 * inter-token latency. A repeated chunk (a seq not above the last seen) is dropped, as a client would.
 */
final class ChunkListener implements AutoCloseable {

    /** One request's chunks as one reader saw them: the first and last arrival (System.nanoTime) and their token counts. */
    record Seen(long firstNanos, int firstTokens, long lastNanos, int lastTokens, int lastSeq) {
        /** Inter-token latency: the time between the first and the last chunk per token between them, ms (NaN if one chunk). */
        double interTokenMs() {
            return lastTokens > firstTokens ? (lastNanos - firstNanos) / 1e6 / (lastTokens - firstTokens) : Double.NaN;
        }
    }

    private final Map<String, Seen> uncommitted = new ConcurrentHashMap<>();
    private final Map<String, Seen> committed = new ConcurrentHashMap<>();
    private final java.util.Set<String> awaited = ConcurrentHashMap.newKeySet();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    ChunkListener(String bootstrap, String topic, Map<String, String> clientProperties) {
        threads.add(reader(bootstrap, topic, clientProperties, "read_uncommitted", uncommitted));
        threads.add(reader(bootstrap, topic, clientProperties, "read_committed", committed));
    }

    private Thread reader(String bootstrap, String topic, Map<String, String> props, String isolation, Map<String, Seen> into) {
        KafkaConsumer<byte[], byte[]> c = dev.hmem.cli.kafka.TopicEnd.open(bootstrap, topic, props, isolation);
        Thread t = new Thread(() -> {
            try (c) {
                while (running) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(20))) {
                        long now = System.nanoTime();
                        TokenChunk k;
                        try {
                            k = ResultCodec.decodeChunk(r.value());
                        } catch (IllegalArgumentException notOurs) {
                            continue;
                        }
                        String id = k.getRequestId();
                        if (!awaited.contains(id)) continue;
                        into.compute(id, (key, s) -> {
                            if (s == null) return new Seen(now, k.getCompletionTokens(), now, k.getCompletionTokens(), k.getSeq());
                            if (k.getSeq() <= s.lastSeq() || k.getCompletionTokens() <= s.lastTokens()) return s;  // a repeat
                            return new Seen(s.firstNanos(), s.firstTokens(), now, k.getCompletionTokens(), k.getSeq());
                        });
                    }
                }
            }
        }, "loadtest-chunks-" + isolation);
        t.setDaemon(true);
        t.start();
        return t;
    }

    void await(String id) {
        awaited.add(id);
    }

    /** What a reader saw of {@code id}'s chunks, or null; forgets nothing (a step reads it once, after its drain). */
    Seen seen(String id, boolean committedOnly) {
        return (committedOnly ? committed : uncommitted).get(id);
    }

    void forget(String id) {
        awaited.remove(id);
        uncommitted.remove(id);
        committed.remove(id);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread t : threads) t.join(5_000);
    }
}
