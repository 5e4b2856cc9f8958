package dev.hmem.it;

import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.schemas.PromptRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A steady stream of prompts at a fixed rate, on its own thread, as a client application writes
 * them: an idempotent producer (a broker restart neither loses nor duplicates a prompt), every
 * request with its own id. Remembers what it sent, for the checks.
 */
final class PromptStream implements AutoCloseable {

    /** One request sent. */
    record Sent(String id, String text, int maxNewTokens) {}

    private final Thread thread;
    private final Map<String, Sent> sent = new ConcurrentHashMap<>();
    private volatile boolean stop;
    private volatile Throwable failure;

    PromptStream(String bootstrap, String topic, String idPrefix, String[] texts, int count, double perSecond, int maxNewTokens) {
        thread = new Thread(() -> {
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap);
            p.put("enable.idempotence", "true");
            p.put("acks", "all");
            p.put("delivery.timeout.ms", "180000");
            try (KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                long start = System.nanoTime();
                for (int i = 0; i < count && !stop; i++) {
                    long due = start + (long) (i * 1e9 / perSecond);
                    long wait = due - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    String id = idPrefix + "-" + i;
                    String text = texts[i % texts.length];
                    sent.put(id, new Sent(id, text, maxNewTokens));
                    prod.send(new ProducerRecord<>(topic, PromptCodec.encode(PromptRequest.newBuilder().setId(id).setText(text)
                            .setMaxNewTokens(maxNewTokens).setCreatedAt(Instant.now()).build())));
                }
                prod.flush();
            } catch (Throwable t) {
                failure = t;
            }
        }, "prompt-stream-" + idPrefix);
        thread.setDaemon(true);
    }

    PromptStream start() {
        thread.start();
        return this;
    }

    /** Waits until every prompt is written (acknowledged). */
    List<Sent> awaitSent() throws InterruptedException {
        thread.join();
        if (failure != null) throw new IllegalStateException("the prompt stream failed", failure);
        return new ArrayList<>(sent.values());
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(10_000);
    }
}
