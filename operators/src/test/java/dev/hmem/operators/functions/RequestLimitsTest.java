package dev.hmem.operators.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.operators.codec.PromptCodec;
import dev.hmem.operators.codec.ResultCodec;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.operators.records.RecordLimits;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.TestModels;
import dev.hmem.schemas.DeadLetter;
import dev.hmem.schemas.PromptRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every request limit, at its value and one past it, through the real decode and validate
 * functions: at the limit the prompt flows on; past it the prompt becomes a dead letter naming the
 * limit (and an error result when its id can be echoed). Every output, encoded as it goes to Kafka,
 * stays within the bounds {@link RecordLimits} computes, and those within a Kafka message.
 */
class RequestLimitsTest {

    @TempDir
    static Path tmp;
    static Path model;
    static final String TOPIC = "prompts-topic";
    /** Small limits so "at the limit" fits the tiny model's context. */
    static final RecordLimits LIMITS = new RecordLimits(2_000, 12, 60, 3, 5, 2, 40, 7, 100, RecordLimits.KAFKA_DEFAULT_MESSAGE_BYTES);

    @BeforeAll
    static void setUp() throws Exception {
        model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 3);
    }

    /** What came out of decode + validate for one record. */
    record Outcome(List<PromptTask> passed, List<DeadLetterRecord> dead, List<ResultRecord> errors) {}

    static Outcome run(byte[] value) throws Exception {
        ServingConfig config = ServingConfig.builder(model.toString(), tmp.toString()).defaultMaxNewTokens(8).limits(l -> LIMITS.toBuilder()).build();
        List<DeadLetterRecord> dead = new ArrayList<>();
        List<ResultRecord> errors = new ArrayList<>();
        List<PromptTask> decoded = new ArrayList<>();
        try (OneInputStreamOperatorTestHarness<RawRecord, PromptTask> h =
                     ProcessFunctionTestHarnesses.forProcessFunction(new DecodePromptFunction(config, new dev.hmem.operators.codec.WriterSchemas.Source(List.of(), null, null)))) {
            h.processElement(new RawRecord(value, TOPIC, 3, 77, 1), 1);
            decoded.addAll(h.extractOutputValues());
            var side = h.getSideOutput(DecodePromptFunction.DEAD_LETTERS);
            if (side != null) side.forEach(r -> dead.add(r.getValue()));
        }
        List<PromptTask> passed = new ArrayList<>();
        try (OneInputStreamOperatorTestHarness<PromptTask, PromptTask> h =
                     ProcessFunctionTestHarnesses.forProcessFunction(new ValidatePromptFunction(config))) {
            for (PromptTask t : decoded) h.processElement(t, 1);
            passed.addAll(h.extractOutputValues());
            var side = h.getSideOutput(DecodePromptFunction.DEAD_LETTERS);
            if (side != null) side.forEach(r -> dead.add(r.getValue()));
            var err = h.getSideOutput(ValidatePromptFunction.ERROR_RESULTS);
            if (err != null) err.forEach(r -> errors.add(r.getValue()));
        }
        for (DeadLetterRecord d : dead) {
            int size = ResultCodec.encode(d).length;
            assertThat((long) size).isLessThanOrEqualTo(LIMITS.maxDeadLetterBytes(TOPIC.length()));
            assertThat(size).isLessThanOrEqualTo(LIMITS.maxMessageBytes());
            assertThat(d.raw().length).isLessThanOrEqualTo(LIMITS.deadLetterRawBytes());
        }
        for (ResultRecord r : errors) {
            int size = ResultCodec.encode(r).length;
            assertThat((long) size).isLessThanOrEqualTo(LIMITS.maxResultBytes(8, 64, 40));
            assertThat(r.client().size()).isLessThanOrEqualTo(LIMITS.maxClientEntries());
        }
        return new Outcome(passed, dead, errors);
    }

    static byte[] request(Consumer<PromptRequest.Builder> edit) {
        PromptRequest.Builder b = PromptRequest.newBuilder().setId("req-1").setText("The capital of France is");
        edit.accept(b);
        return PromptCodec.encode(b.build());
    }

    static void passes(byte[] value) throws Exception {
        Outcome o = run(value);
        assertThat(o.dead()).as("dead letters").isEmpty();
        assertThat(o.passed()).hasSize(1);
    }

    static Outcome refused(byte[] value, String... words) throws Exception {
        Outcome o = run(value);
        assertThat(o.passed()).isEmpty();
        assertThat(o.dead()).hasSize(1);
        for (String w : words) assertThat(o.dead().get(0).error()).contains(w);
        return o;
    }

    @Test
    void id() throws Exception {
        passes(request(b -> b.setId("x".repeat(12))));
        Outcome o = refused(request(b -> b.setId("x".repeat(13))), "request id has 13 characters, the limit is 12");
        assertThat(o.errors()).as("an id past its limit is not echoed").isEmpty();
        assertThat(o.dead().get(0).requestId()).hasSizeLessThanOrEqualTo(12);
    }

    @Test
    void promptText() throws Exception {
        passes(request(b -> b.setText("a".repeat(60))));
        Outcome o = refused(request(b -> b.setText("a".repeat(61))), "prompt has 61 characters, the limit is 60");
        assertThat(o.errors()).singleElement().satisfies(r -> assertThat(r.id()).isEqualTo("req-1"));
    }

    @Test
    void stopList() throws Exception {
        passes(request(b -> b.setStop(List.of("a", "b", "c"))));
        refused(request(b -> b.setStop(List.of("a", "b", "c", "d"))), "stop list has 4 strings, the limit is 3");
        passes(request(b -> b.setStop(List.of("abcde"))));
        refused(request(b -> b.setStop(List.of("abcdef"))), "a stop string has 6 characters, the limit is 5");
    }

    @Test
    void clientMap() throws Exception {
        passes(request(b -> b.setClient(Map.of("a", "1", "b", "2"))));
        Outcome o = refused(request(b -> b.setClient(Map.of("a", "1", "b", "2", "c", "3"))),
                "client map has 3 entries, the limit is 2");
        assertThat(o.errors()).singleElement().satisfies(r -> assertThat(r.client()).as("not echoed").isEmpty());
        passes(request(b -> b.setClient(Map.of("k", "v".repeat(39)))));
        refused(request(b -> b.setClient(Map.of("k", "v".repeat(40)))), "client map has 41 bytes", "the limit is 40");
        // UTF-8 bytes, not characters: 13 three-byte characters are 39 bytes (+1 for the key).
        passes(request(b -> b.setClient(Map.of("k", "中".repeat(13)))));
        refused(request(b -> b.setClient(Map.of("k", "中".repeat(14)))), "client map has 43 bytes");
    }

    @Test
    void forcedPath() throws Exception {
        passes(request(b -> b.setMemoryPath("1.2.3.4")));
        refused(request(b -> b.setMemoryPath("1.2.3.45")), "memory_path has 8 characters, the limit is 7");
        // Blanks are not the root (which would silently mean no memory): refused, with an answer for the client.
        for (String blank : List.of(" ", "   ", "\t", " \n ")) {
            Outcome o = refused(request(b -> b.setMemoryPath(blank)), "memory_path is blank");
            assertThat(o.errors()).singleElement().satisfies(r -> assertThat(r.id()).isEqualTo("req-1"));
        }
        passes(request(b -> b.setMemoryPath("")));  // unset, as some clients write it
    }

    /** Ids are echoed into logs and tools: control and direction characters are refused, the id still answered. */
    @Test
    void idsWithControlOrDirectionCharactersAreRefusedButAnswered() throws Exception {
        for (String bad : List.of("a\nb", "forged\rline", "x\u202Ey", "\u2066id", "nul\u0000", "tab\t", "sep\u2028")) {
            Outcome o = refused(request(b -> b.setId(bad)), "control or direction-override character");
            assertThat(o.errors()).as("the client still gets an answer").singleElement()
                    .satisfies(r -> assertThat(r.id()).isEqualTo(bad));
        }
        passes(request(b -> b.setId("emoji\uD83D\uDC69\u200D\uD83D\uDCBB")));  // a joiner inside an emoji is fine
    }

    @Test
    void aDeadlineMustBePositive() throws Exception {
        passes(request(b -> b.setDeadlineMs(1_000L)));
        refused(request(b -> b.setDeadlineMs(0L)), "deadline_ms must be > 0");
        refused(request(b -> b.setDeadlineMs(-5L)), "deadline_ms must be > 0");
    }

    @Test
    void recordSizeAndTheRawBytesADeadLetterCarries() throws Exception {
        byte[] atLimit = padTo(2_000);
        assertThat(atLimit).hasSize(2_000);
        Outcome at = run(atLimit);
        assertThat(at.dead()).allSatisfy(d -> assertThat(d.error()).doesNotContain("the limit is 2000"));

        byte[] past = padTo(2_001);
        Outcome o = refused(past, "record has 2001 bytes, the limit is 2000");
        DeadLetterRecord d = o.dead().get(0);
        assertThat(d.raw()).hasSize(100).containsExactly(java.util.Arrays.copyOf(past, 100));
        assertThat(d.rawSize()).isEqualTo(2_001);
        assertThat(d.rawTruncated()).isTrue();
        assertThat(d.rawSha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(past)));
        assertThat(d.topic()).isEqualTo(TOPIC);
        assertThat(d.partition()).isEqualTo(3);
        assertThat(d.offset()).isEqualTo(77);
        DeadLetter wire = ResultCodec.decodeDeadLetter(ResultCodec.encode(d));
        assertThat(wire.getRawSize()).isEqualTo(2_001);
        assertThat(wire.getRawTruncated()).isTrue();

        // A small bad record is carried whole.
        Outcome small = refused(new byte[] {1, 2, 3}, "not a PromptRequest in single-object encoding");
        assertThat(small.dead().get(0).raw()).containsExactly(1, 2, 3);
        assertThat(small.dead().get(0).rawTruncated()).isFalse();
        assertThat(small.dead().get(0).rawSize()).isEqualTo(3);
    }

    /** A valid request whose encoding is exactly {@code size} bytes (the client map pads it). */
    static byte[] padTo(int size) {
        for (int pad = 0; pad < size; pad++) {
            int p = pad;
            byte[] b = request(r -> r.setClient(Map.of("p", "x".repeat(p))));
            if (b.length == size) return b;
        }
        throw new AssertionError("no padding gives " + size + " bytes");
    }

    @Test
    void theLargestResultFitsItsComputedBound() {
        RecordLimits lim = RecordLimits.DEFAULTS;
        int tokens = 1024, tokenBytes = 48;
        Map<String, String> client = new HashMap<>();
        int perEntry = lim.maxClientBytes() / lim.maxClientEntries() / 3 / 2;
        for (int i = 0; i < lim.maxClientEntries(); i++) client.put("中".repeat(perEntry - 2) + i, "中".repeat(perEntry));
        int[] ids = new int[tokens];
        java.util.Arrays.fill(ids, Integer.MAX_VALUE);
        String version = "f".repeat(16) + "/" + "d".repeat(200);
        ResultRecord worst = new ResultRecord("中".repeat(lim.maxIdChars()), "中".repeat(tokens * tokenBytes), 1 << 20, ids,
                "9".repeat(lim.maxPathChars()), "length", version, version, new double[6], Integer.MAX_VALUE,
                Integer.MAX_VALUE, "中".repeat(RecordLimits.MAX_ERROR_CHARS), client, Long.MAX_VALUE, Long.MAX_VALUE,
                "中".repeat(RecordLimits.MAX_ERROR_CHARS), "中".repeat(dev.hmem.operators.control.ServedVersion.MAX_LABEL_CHARS),
                "中".repeat(RecordLimits.MAX_ERROR_CHARS));
        long bound = lim.maxResultBytes(tokens, tokenBytes, 2 * version.length());
        assertThat((long) ResultCodec.encode(worst).length).isLessThanOrEqualTo(bound);
        assertThat(bound).isLessThanOrEqualTo(lim.maxMessageBytes());

        DeadLetterRecord dead = DeadLetterRecord.of(new byte[10 * lim.deadLetterRawBytes()], "t".repeat(249), 1, 2, "decode",
                "中".repeat(5_000), "中".repeat(5_000), lim);
        assertThat((long) ResultCodec.encode(dead).length).isLessThanOrEqualTo(lim.maxDeadLetterBytes(249));
        assertThat(dead.error().length()).isLessThanOrEqualTo(RecordLimits.MAX_ERROR_CHARS);
    }

    @Test
    void everyKindOfBadRecordBecomesADeadLetterAndNeverAnException() throws Exception {
        // A quick pass of hostile inputs through both functions (the codec's own fuzz test goes deeper).
        java.util.Random rnd = new java.util.Random(3);
        for (int i = 0; i < 300; i++) {
            byte[] b = request(r -> r.setText("q " + rnd.nextInt()).setClient(Map.of("a", "b")));
            b = java.util.Arrays.copyOf(b, b.length);
            b[10 + rnd.nextInt(b.length - 10)] ^= (byte) (1 + rnd.nextInt(255));
            Outcome o = run(b);
            assertThat(o.passed().size() + o.dead().size()).isEqualTo(1);
        }
    }
}
