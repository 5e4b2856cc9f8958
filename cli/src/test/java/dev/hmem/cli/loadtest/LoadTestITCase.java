package dev.hmem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.hmem.cli.kafka.EmbeddedKafka;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.PromptRequest;
import dev.hmem.schemas.StageTimings;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load test measured against a server whose behaviour is known: a responder on a real
 * (in-process) broker that answers each prompt after a fixed delay with fixed job timings and
 * ignores every prompt whose id ends in 7. The figures the load test reports must be the ones the
 * responder made: rates, tokens/s, unanswered counts, latencies from the job's timings, and, in
 * closed loop, Little's law (clients ÷ latency).
 */
class LoadTestITCase {

    static final long DELAY_MS = 200;
    static final int TOKENS = 8;
    static final double GENERATE_MS = 120, FIRST_TOKEN_MS = 50, END_TO_END_MS = 180;

    @TempDir static Path dir;
    static EmbeddedKafka kafka;
    static Responder responder;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(dir);
        kafka.createTopics(2, "lt-prompts", "lt-results", "lt-tokens");
        responder = new Responder(kafka.bootstrapServers());
        responder.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (responder != null) responder.close();
        if (kafka != null) kafka.close();
    }

    private static LoadTest.Run run(List<Double> rates, List<Integer> clients, Path out) throws Exception {
        return run(rates, clients, out, false);
    }

    private static LoadTest.Run run(List<Double> rates, List<Integer> clients, Path out, boolean stream) throws Exception {
        return run(rates, clients, out, stream, 0);
    }

    private static LoadTest.Run run(List<Double> rates, List<Integer> clients, Path out, boolean stream, int maxConcurrency)
            throws Exception {
        Map<String, List<String>> prompts = Map.of("a", List.of("alpha one", "alpha two"), "b", List.of("beta"));
        Workload w = new Workload(prompts, 1.0, rates.isEmpty() ? 1 : rates.get(0), 1.0, 3);
        LoadTest.Options o = new LoadTest.Options(kafka.bootstrapServers(), Map.of(), "lt-prompts", "lt-results", rates, clients, false,
                8, 2, 3, TOKENS, Slo.parse("ttft=1000,tpot=100,e2e=5000"), null, null, out, "it", Map.of());
        if (maxConcurrency > 0) {
            o = new LoadTest.Options(o.bootstrap(), o.kafkaProperties(), o.promptsTopic(), o.resultsTopic(), o.rates(), o.concurrencies(),
                    o.sweep(), o.seconds(), o.warmup(), o.drain(), o.maxNewTokens(), o.slo(), o.flinkRest(), o.jobId(), o.out(), o.label(),
                    o.cpuPids(), o.schemaRegistry(), null, true, maxConcurrency, Ramp.NONE, 0);
        }
        return LoadTest.run(stream ? o.streaming("lt-tokens") : o, w);
    }

    /** A linear ramp over the whole step: its first measured second sends far fewer requests than its last. */
    @Test
    void aRampedStepClimbsToItsRate() throws Exception {
        Map<String, List<String>> prompts = Map.of("a", List.of("alpha one"), "b", List.of("beta"));
        LoadTest.Options o = new LoadTest.Options(kafka.bootstrapServers(), Map.of(), "lt-prompts", "lt-results", List.of(40.0), List.of(),
                false, 8, 2, 3, TOKENS, Slo.parse("ttft=1000,tpot=100,e2e=5000"), null, null, dir.resolve("ramp"), "it", Map.of(), null,
                null, false, 0, new Ramp("linear", 8, 0.1), 0);
        StepRunner.Result r = LoadTest.run(o, new Workload(prompts, 1.0, 40, 1.0, 5)).results().get(0);
        long first = r.requests().stream().filter(q -> q.sentMs() >= 2000 && q.sentMs() < 3000).count();
        long last = r.requests().stream().filter(q -> q.sentMs() >= 7000 && q.sentMs() < 8000).count();
        // Expected at 2.5 s and 7.5 s: 40 x (0.1 + 0.9 x 2.5/8) ≈ 15 and 40 x 0.94 ≈ 38 requests.
        assertThat(first).isBetween(5L, 26L);
        assertThat(last).isBetween(25L, 55L);
        assertThat(first).isLessThan(last);
    }

    @Test
    void theRampShapesAreWhatTheySay() {
        Ramp lin = new Ramp("linear", 10, 0.1), exp = new Ramp("exponential", 10, 0.01);
        assertThat(lin.share(0)).isCloseTo(0.1, within(1e-9));
        assertThat(lin.share(5)).isCloseTo(0.55, within(1e-9));
        assertThat(exp.share(0)).isCloseTo(0.01, within(1e-9));
        assertThat(exp.share(5)).isCloseTo(0.1, within(1e-9));
        assertThat(exp.share(10)).isEqualTo(1.0);
        assertThat(Ramp.NONE.share(0)).isEqualTo(1.0);
    }

    /** An open-loop rate far above what 2 outstanding requests allow is held to Little's law by the cap, ignore_eos is sent. */
    @Test
    void maxConcurrencyCapsAnOpenLoopAndIgnoreEosReachesTheServer() throws Exception {
        responder.ignoreNone.set(true);
        responder.ignoreEosSeen.set(0);
        try {
            StepStats s = run(List.of(50.0), List.of(), dir.resolve("capped"), false, 2).steps().get(0);
            double latency = s.latency().get("e2e").mean() / 1000;
            assertThat(s.achievedRate()).as("2 outstanding at %.3f s each", latency).isCloseTo(2 / latency, within(0.3 * 2 / latency));
            assertThat(s.achievedRate()).isLessThan(25);
            assertThat(responder.ignoreEosSeen.get()).isPositive();
        } finally {
            responder.ignoreNone.set(false);
        }
    }

    /** The responder's partial results: 2 tokens each at these delays, so a client's inter-token latency is 90 ms / 6. */
    static final long[] CHUNK_MS = {40, 70, 100, 130};

    @Test
    void streamingClientsMeasureTimeToFirstTokenAndInterTokenLatencyFromThePartialResults() throws Exception {
        LoadTest.Run r = run(List.of(10.0), List.of(), dir.resolve("stream"), true);
        StepStats s = r.steps().get(0);
        var ttft = s.latency().get("stream_ttft");
        var itl = s.latency().get("stream_itl");
        assertThat(ttft.count()).as("answered requests with partial results").isGreaterThan(20);
        assertThat(ttft.p50()).isBetween((double) CHUNK_MS[0], CHUNK_MS[0] + 150.0);
        assertThat(itl.p50()).isCloseTo((CHUNK_MS[3] - CHUNK_MS[0]) / 6.0, within(6.0));
        assertThat(s.latency().get("committed_ttft").count()).as("the responder writes without transactions: both readers see them")
                .isEqualTo(ttft.count());
        assertThat(ttft.p50()).isLessThan(s.latency().get("e2e").p50());
        assertThat(java.nio.file.Files.readString(dir.resolve("stream").resolve("summary.md"))).contains("read_uncommitted TTFT");
    }

    @Test
    void anOpenLoopStepReportsWhatTheServerDid() throws Exception {
        LoadTest.Run r = run(List.of(20.0), List.of(), dir.resolve("open"));
        StepStats s = r.steps().get(0);
        // Poisson arrivals at 20/s over a 6-s window: ~120 measured, a tenth of them ignored.
        assertThat(s.measured()).isBetween(70, 180);
        List<RequestOutcome> measured = r.results().get(0).requests();
        assertThat(measured.stream().filter(o -> !o.answered()).map(RequestOutcome::id))
                .as("the unanswered are exactly the prompts the responder ignored")
                .containsExactlyInAnyOrderElementsOf(measured.stream().map(RequestOutcome::id).filter(id -> id.endsWith("7")).toList())
                .isNotEmpty();
        assertThat(s.unanswered()).isEqualTo((int) measured.stream().filter(o -> !o.answered()).count());
        assertThat(s.errors()).isZero();
        assertThat(s.outputTokensPerSecond()).isCloseTo(TOKENS * s.achievedRate(), within(1e-6));
        assertThat(s.achievedRate()).isCloseTo(20 * 0.9, within(20 * 0.9 * 0.45));
        // Latencies from the job's timings are exact; the client's end to end is the responder's delay plus the broker.
        assertThat(s.latency().get("tpot").p50()).isCloseTo((GENERATE_MS - FIRST_TOKEN_MS) / (TOKENS - 1), within(0.05));
        assertThat(s.latency().get("ttft").p50()).isCloseTo(END_TO_END_MS - (GENERATE_MS - FIRST_TOKEN_MS), within(0.1));
        assertThat(s.latency().get("e2e").p50()).isBetween((double) DELAY_MS, DELAY_MS + 400.0);
        assertThat(s.goodput()).isCloseTo(s.achievedRate(), within(0.35 * s.achievedRate()));
    }

    @Test
    void aClosedLoopStepFollowsLittlesLaw() throws Exception {
        // 4 clients, each waiting ~DELAY_MS per answer (none ignored: they would stall a client until the drain),
        responder.ignoreNone.set(true);
        try {
            StepStats s = run(List.of(), List.of(4), dir.resolve("closed")).steps().get(0);
            double latency = s.latency().get("e2e").mean() / 1000;
            assertThat(s.achievedRate()).isCloseTo(4 / latency, within(0.25 * 4 / latency));
            assertThat(s.unanswered()).isZero();
        } finally {
            responder.ignoreNone.set(false);
        }
    }

    /** Answers prompts after {@link #DELAY_MS}, ignoring those whose id ends in 7. */
    static final class Responder extends Thread implements AutoCloseable {
        final AtomicBoolean ignoreNone = new AtomicBoolean();
        final java.util.concurrent.atomic.AtomicInteger ignoreEosSeen = new java.util.concurrent.atomic.AtomicInteger();
        private final String bootstrap;
        private final AtomicBoolean running = new AtomicBoolean(true);

        Responder(String bootstrap) {
            super("responder");
            this.bootstrap = bootstrap;
            setDaemon(true);
        }

        record Due(String topic, byte[] key, byte[] value, long at) implements Delayed {
            @Override public long getDelay(TimeUnit unit) {
                return unit.convert(at - System.nanoTime(), TimeUnit.NANOSECONDS);
            }

            @Override public int compareTo(Delayed o) {
                return Long.compare(at, ((Due) o).at);
            }
        }

        @Override
        public void run() {
            Properties c = new Properties();
            c.put("bootstrap.servers", bootstrap);
            Properties p = new Properties();
            p.put("bootstrap.servers", bootstrap);
            p.put("linger.ms", "0");
            DelayQueue<Due> due = new DelayQueue<>();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                 KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                List<TopicPartition> parts = List.of(new TopicPartition("lt-prompts", 0), new TopicPartition("lt-prompts", 1));
                consumer.assign(parts);
                consumer.seekToBeginning(parts);
                while (running.get()) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(10))) {
                        PromptRequest q = PromptRequest.fromByteBuffer(ByteBuffer.wrap(r.value()));
                        String id = q.getId().toString();
                        if (Boolean.TRUE.equals(q.getIgnoreEos())) ignoreEosSeen.incrementAndGet();
                        if (!ignoreNone.get() && id.endsWith("7")) continue;
                        StageTimings t = StageTimings.newBuilder().setQueueMs(5).setRouteMs(1).setMemoryLoadMs(0)
                                .setTimeToFirstTokenMs(FIRST_TOKEN_MS).setGenerateMs(GENERATE_MS).setEndToEndMs(END_TO_END_MS).build();
                        List<Integer> tokens = new ArrayList<>();
                        for (int i = 0; i < TOKENS; i++) tokens.add(i);
                        GenerationResult g = GenerationResult.newBuilder().setId(id).setText("x").setCompletionTokens(TOKENS)
                                .setTokenIds(tokens).setFinishReason("length").setTimings(t).setCreatedAt(Instant.now())
                                .setCompletedAt(Instant.now()).build();
                        long now = System.nanoTime();
                        due.add(new Due("lt-results", r.key(), bytes(g.toByteBuffer()), now + TimeUnit.MILLISECONDS.toNanos(DELAY_MS)));
                        if (Boolean.TRUE.equals(q.getStream())) {
                            for (int k = 0; k < CHUNK_MS.length; k++) {
                                dev.hmem.schemas.TokenChunk chunk = dev.hmem.schemas.TokenChunk.newBuilder().setRequestId(id).setSeq(k)
                                        .setText("x".repeat(2 * (k + 1))).setCompletionTokens(2 * (k + 1)).setNewTokenIds(List.of(k, k))
                                        .build();
                                due.add(new Due("lt-tokens", r.key(), bytes(chunk.toByteBuffer()), now + TimeUnit.MILLISECONDS.toNanos(CHUNK_MS[k])));
                            }
                        }
                    }
                    for (Due d; (d = due.poll()) != null; ) producer.send(new ProducerRecord<>(d.topic(), d.key(), d.value()));
                }
            } catch (Exception e) {
                if (running.get()) throw new IllegalStateException(e);
            }
        }

        static byte[] bytes(ByteBuffer b) {
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            join(10_000);
        }
    }
}
