package dev.hmem.cli.loadgen;

import dev.hmem.model.Progress;
import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.PromptRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Drives a running inference job through Kafka: sends prompts at the workload's arrival times
 * (open loop: a slow server does not slow the sender), reads the committed results, and reports
 * throughput, latency percentiles, goodput and cache hit rate over the requests sent after the
 * warm-up.
 */
public final class LoadGenerator {

    public record Options(String bootstrap, String promptsTopic, String resultsTopic, double seconds, double warmupSeconds,
                          int maxNewTokens, double sloMs, double drainSeconds) {}

    private record Answer(long receivedNanos, GenerationResult result) {}

    private LoadGenerator() {}

    public static LoadReport run(Options o, Workload w) throws Exception {
        String run = "lg" + Long.toString(System.currentTimeMillis(), 36) + "-";
        Map<String, Long> sent = new ConcurrentHashMap<>();
        Map<String, Answer> answers = new ConcurrentHashMap<>();
        AtomicBoolean reading = new AtomicBoolean(true);
        KafkaConsumer<byte[], byte[]> consumer = consumer(o);
        Thread reader = new Thread(() -> {
            try {
                while (reading.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                        GenerationResult g = ResultCodec.decodeResult(r.value());
                        if (g.getId().startsWith(run) && sent.containsKey(g.getId())) {
                            answers.putIfAbsent(g.getId(), new Answer(System.nanoTime(), g));
                        }
                    }
                }
            } finally {
                consumer.close();
            }
        }, "loadgen-reader");
        reader.start();

        Properties pp = new Properties();
        pp.put("bootstrap.servers", o.bootstrap());
        pp.put("linger.ms", "1");
        long start = System.nanoTime(), warmEnd = start + (long) (o.warmupSeconds() * 1e9);
        long end = start + (long) (o.seconds() * 1e9);
        Progress progress = Progress.of("load", (long) o.seconds(), "s");
        int i = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            double next = 0;
            long lastTick = start;
            while (true) {
                long at = start + (long) (next * 1e9);
                if (at >= end) break;
                long wait = at - System.nanoTime();
                if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                String id = run + i++;
                PromptRequest p = PromptRequest.newBuilder().setId(id).setText(w.nextPrompt())
                        .setMaxNewTokens(o.maxNewTokens()).setCreatedAt(Instant.now()).build();
                sent.put(id, System.nanoTime());
                producer.send(new ProducerRecord<>(o.promptsTopic(), id.getBytes(), PromptCodec.encode(p)));
                next += w.nextGap();
                long now = System.nanoTime();
                if (now - lastTick >= 1_000_000_000L) {
                    progress.advance((now - lastTick) / 1_000_000_000L, answers.size() + "/" + sent.size() + " answered");
                    lastTick = now;
                }
            }
        }
        long drainUntil = System.nanoTime() + (long) (o.drainSeconds() * 1e9);
        while (answers.size() < sent.size() && System.nanoTime() < drainUntil) Thread.sleep(100);
        reading.set(false);
        reader.join();

        List<Double> e2e = new ArrayList<>(), ttft = new ArrayList<>(), tpot = new ArrayList<>();
        long tokens = 0, hits = 0, misses = 0, lastAnswer = warmEnd;
        int measuredSent = 0, answered = 0, errors = 0;
        for (Map.Entry<String, Long> s : sent.entrySet()) {
            if (s.getValue() < warmEnd) continue;
            measuredSent++;
            Answer a = answers.get(s.getKey());
            if (a == null) continue;
            GenerationResult g = a.result();
            if (g.getError() != null) {
                errors++;
                continue;
            }
            answered++;
            lastAnswer = Math.max(lastAnswer, a.receivedNanos());
            e2e.add((a.receivedNanos() - s.getValue()) / 1e6);
            var t = g.getTimings();
            ttft.add(t.getQueueMs() + t.getTimeToFirstTokenMs());
            if (g.getCompletionTokens() > 1) tpot.add((t.getGenerateMs() - t.getTimeToFirstTokenMs()) / (g.getCompletionTokens() - 1));
            tokens += g.getCompletionTokens();
            hits += g.getCacheHits();
            misses += g.getCacheMisses();
        }
        double secs = Math.max(1e-3, (lastAnswer - warmEnd) / 1e9);
        return new LoadReport(measuredSent, answered, errors, secs, tokens, arr(e2e), arr(ttft), arr(tpot), hits, misses, o.sloMs());
    }

    private static double[] arr(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** A read_committed consumer positioned at the current end of the results topic. */
    private static KafkaConsumer<byte[], byte[]> consumer(Options o) {
        Properties p = new Properties();
        p.put("bootstrap.servers", o.bootstrap());
        p.put("isolation.level", "read_committed");
        p.put("enable.auto.commit", "false");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        c.partitionsFor(o.resultsTopic()).forEach(info -> parts.add(new TopicPartition(info.topic(), info.partition())));
        c.assign(parts);
        c.seekToEnd(parts);
        for (TopicPartition tp : parts) c.position(tp);  // resolve the end offsets now, before sending
        return c;
    }
}
