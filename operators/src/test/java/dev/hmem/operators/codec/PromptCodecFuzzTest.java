package dev.hmem.operators.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.schemas.DeadLetter;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.PromptRequest;
import dev.hmem.schemas.StageTimings;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

/**
 * Hostile bytes against the prompt decoder: mutations of valid PromptRequests (byte flips,
 * truncations, extensions, random varints where the encoding has lengths, counts and union
 * indexes, other schemas' fingerprints, and combinations). Each must decode to a request that
 * re-encodes, or be refused with an {@link InvalidRecordException}; nothing else may escape, and no
 * case may allocate more than a small multiple of its own size.
 */
class PromptCodecFuzzTest {

    static final int CASES = 50_000;

    /** Where a varint sits in an encoded request, and what it means. */
    record Marker(int pos, int len, String kind) {}

    static final Schema[] OTHER_SCHEMAS = {GenerationResult.getClassSchema(), DeadLetter.getClassSchema(),
            StageTimings.getClassSchema(), new Schema.Parser().parse(PromptCodecTest.MINIMAL)};

    static final long[] INTERESTING = {-1, -2, 0, 1, 127, 128, Integer.MAX_VALUE, Integer.MIN_VALUE, Integer.MAX_VALUE - 8L,
            1L << 31, 1L << 32, 1L << 40, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE + 1, 2_000_000_000L,
            1_000_000_000L, 65_536, 1 << 24};

    @Test
    void everyMutationDecodesOrIsRefusedWithinItsAllocationBound() throws Exception {
        Random rnd = new Random(20261129);
        PromptCodec codec = new PromptCodec(List.of(PromptCodecTest.MINIMAL));
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> escaped = new ArrayList<>();
        long worstRatio = 0;
        int decoded = 0;
        for (int i = 0; i < CASES; i++) {
            PromptRequest original = randomRequest(rnd);
            byte[] valid = PromptCodec.encode(original);
            String how = mutate(valid, rnd);
            byte[] bytes = lastMutation;
            long before = mx.getThreadAllocatedBytes(tid);
            try {
                PromptRequest p = codec.decode(bytes);
                assertThat(p.getId()).isNotNull();
                assertThat(p.getText()).isNotNull();
                assertThat(PromptCodec.encode(p)).isNotNull();
                decoded++;
                outcomes.merge("decoded (" + how + ")", 1, Integer::sum);
            } catch (InvalidRecordException e) {
                assertThat(e.getMessage()).isNotBlank();
                outcomes.merge("refused: " + category(e.getMessage()), 1, Integer::sum);
            } catch (Throwable t) {
                if (escaped.size() < 10) escaped.add(how + " -> " + t + " on " + java.util.HexFormat.of().formatHex(bytes));
            }
            long allocated = mx.getThreadAllocatedBytes(tid) - before;
            // A constant for the decoder's own objects and an exception's stack trace, then a small
            // multiple of the record: every string and collection must be backed by its bytes.
            long bound = 256 * 1024 + 16L * bytes.length;
            assertThat(allocated).as("allocation of case %d (%s, %d bytes)", i, how, bytes.length).isLessThanOrEqualTo(bound);
            worstRatio = Math.max(worstRatio, allocated / Math.max(1, bytes.length));
        }
        System.out.printf("fuzz: %d cases, %d decoded, worst allocation %d bytes per record byte%n", CASES, decoded, worstRatio);
        outcomes.forEach((k, v) -> System.out.printf("  %6d  %s%n", v, k));
        assertThat(escaped).as("exceptions other than InvalidRecordException").isEmpty();
        // The mutations must exercise both sides: refusals of every kind, and mutated records that still decode.
        assertThat(decoded).isGreaterThan(CASES / 50);
        assertThat(outcomes.keySet()).anyMatch(k -> k.contains("unknown writer schema"));
        assertThat(outcomes.keySet()).anyMatch(k -> k.contains("remain"));
        assertThat(outcomes.keySet()).anyMatch(k -> k.contains("union index"));
        assertThat(outcomes.keySet()).anyMatch(k -> k.contains("left over"));
    }

    @Test
    void theNineteenByteCollectionBombIsRefusedWithoutAllocating() throws Exception {
        byte[] good = PromptCodec.encode(PromptRequest.newBuilder().setId("a").setText("b").build());
        int stopCount = 10 + 2 + 2 + 5;  // header, id, text, five null unions
        for (long count : new long[] {Integer.MAX_VALUE - 1L, 1_900_000_000L, Long.MAX_VALUE >> 1, -(1L << 40)}) {
            byte[] bomb = Arrays.copyOf(good, stopCount);
            bomb = concat(bomb, zigzag(count), new byte[] {2, 'x'});
            assertThat(bomb.length).isLessThan(40);
            try {
                new PromptCodec().decode(bomb);
                throw new AssertionError("decoded a collection bomb");
            } catch (InvalidRecordException e) {
                assertThat(e.getMessage()).contains("stop").contains("remain");
            }
        }
    }

    @Test
    void recordsOverTheSizeLimitAreNotDecoded() throws Exception {
        PromptCodec small = new PromptCodec(List.of(), 100);
        byte[] big = PromptCodec.encode(PromptRequest.newBuilder().setId("a").setText("x".repeat(200)).build());
        try {
            small.decode(big);
            throw new AssertionError("decoded an over-limit record");
        } catch (InvalidRecordException e) {
            assertThat(e.getMessage()).contains(big.length + " bytes, the limit is 100");
        }
    }

    // ---------------------------------------------------------------- generation of valid requests

    static PromptRequest randomRequest(Random rnd) {
        PromptRequest.Builder b = PromptRequest.newBuilder().setId(text(rnd, 1 + rnd.nextInt(12))).setText(text(rnd, rnd.nextInt(80)));
        if (rnd.nextBoolean()) b.setMaxNewTokens(rnd.nextInt(300) - 10);
        if (rnd.nextBoolean()) b.setTemperature(rnd.nextDouble() * 2);
        if (rnd.nextBoolean()) b.setTopK(rnd.nextInt(50));
        if (rnd.nextBoolean()) b.setTopP(rnd.nextDouble());
        if (rnd.nextBoolean()) b.setSeed(rnd.nextLong());
        List<String> stop = new ArrayList<>();
        for (int i = rnd.nextInt(4); i > 0; i--) stop.add(text(rnd, 1 + rnd.nextInt(5)));
        b.setStop(stop);
        if (rnd.nextInt(3) == 0) b.setMemoryPath(rnd.nextInt(4) + "." + rnd.nextInt(4));
        b.setNoMemory(rnd.nextInt(5) == 0);
        Map<String, String> client = new HashMap<>();
        for (int i = rnd.nextInt(4); i > 0; i--) client.put(text(rnd, 1 + rnd.nextInt(6)), text(rnd, rnd.nextInt(10)));
        b.setClient(client);
        if (rnd.nextBoolean()) b.setCreatedAt(Instant.ofEpochMilli(rnd.nextLong() >>> 24));
        return b.build();
    }

    static String text(Random rnd, int n) {
        String alphabet = "abcdefghij KLMNOP.,?0123é中🙂";
        StringBuilder sb = new StringBuilder();
        while (sb.length() < n) {
            int cp = alphabet.codePointAt(alphabet.offsetByCodePoints(0, rnd.nextInt(alphabet.codePointCount(0, alphabet.length()))));
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- mutations

    static byte[] lastMutation;

    static String mutate(byte[] valid, Random rnd) {
        int rounds = rnd.nextInt(8) == 0 ? 2 : 1;
        byte[] b = valid;
        StringBuilder how = new StringBuilder();
        for (int r = 0; r < rounds; r++) {
            List<Marker> markers = markers(b);
            int kind = b.length == 0 ? 2 : rnd.nextInt(6);
            if (kind == 0) {
                b = b.clone();
                for (int k = 1 + rnd.nextInt(3); k > 0; k--) b[rnd.nextInt(b.length)] ^= (byte) (1 + rnd.nextInt(255));
                how.append("flip ");
            } else if (kind == 1) {
                b = Arrays.copyOf(b, rnd.nextInt(b.length));
                how.append("truncate ");
            } else if (kind == 2) {
                byte[] extra = new byte[1 + rnd.nextInt(20)];
                rnd.nextBytes(extra);
                b = concat(b, extra);
                how.append("extend ");
            } else if (kind == 3 || kind == 4) {
                if (markers.isEmpty()) continue;
                Marker m = markers.get(rnd.nextInt(markers.size()));
                long v = rnd.nextBoolean() ? INTERESTING[rnd.nextInt(INTERESTING.length)]
                        : rnd.nextBoolean() ? rnd.nextLong() : rnd.nextInt(1 << 20) - 1000;
                b = concat(Arrays.copyOf(b, m.pos()), zigzag(v), Arrays.copyOfRange(b, m.pos() + m.len(), b.length));
                how.append("varint(").append(m.kind()).append(") ");
            } else {
                b = b.clone();
                long fp = rnd.nextInt(5) == 0 ? rnd.nextLong()
                        : SchemaNormalization.parsingFingerprint64(OTHER_SCHEMAS[rnd.nextInt(OTHER_SCHEMAS.length)]);
                for (int i = 0; i < 8 && 2 + i < b.length; i++) b[2 + i] = (byte) (fp >>> (8 * i));
                how.append("fingerprint ");
            }
        }
        lastMutation = b;
        return how.toString().trim();
    }

    /** The varints of a valid current-schema encoding that are lengths, counts or union indexes. */
    static List<Marker> markers(byte[] b) {
        List<Marker> out = new ArrayList<>();
        try {
            int[] pos = {10};
            string(b, pos, out);                                  // id
            string(b, pos, out);                                  // text
            for (int kind : new int[] {'i', 'd', 'i', 'd', 'l'}) {  // max_new_tokens .. seed
                if (union(b, pos, out) == 1) {
                    if (kind == 'd') pos[0] += 8; else varint(b, pos);
                }
            }
            collection(b, pos, out, false);                       // stop
            if (union(b, pos, out) == 1) string(b, pos, out);     // memory_path
            pos[0] += 1;                                          // no_memory
            collection(b, pos, out, true);                        // client
            if (union(b, pos, out) == 1) varint(b, pos);          // created_at
        } catch (RuntimeException stop) {
            // an earlier mutation broke the layout: the markers found so far still serve
        }
        return out;
    }

    static void string(byte[] b, int[] pos, List<Marker> out) {
        int at = pos[0];
        long n = varint(b, pos);
        if (n < 0 || n > b.length - pos[0]) throw new IllegalStateException("layout broken");
        out.add(new Marker(at, pos[0] - at, "length"));
        pos[0] += (int) n;
    }

    static long union(byte[] b, int[] pos, List<Marker> out) {
        int at = pos[0];
        long i = varint(b, pos);
        out.add(new Marker(at, pos[0] - at, "union"));
        return i;
    }

    static void collection(byte[] b, int[] pos, List<Marker> out, boolean map) {
        while (true) {
            int at = pos[0];
            long n = varint(b, pos);
            out.add(new Marker(at, pos[0] - at, "count"));
            if (n == 0) return;
            if (n < 0 || n > b.length) throw new IllegalStateException("layout broken");
            for (long i = 0; i < n; i++) {
                if (map) string(b, pos, out);
                string(b, pos, out);
            }
        }
    }

    static long varint(byte[] b, int[] pos) {
        long raw = 0;
        for (int shift = 0; ; shift += 7) {
            int x = b[pos[0]++] & 0xff;
            raw |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) return (raw >>> 1) ^ -(raw & 1);
        }
    }

    static byte[] zigzag(long v) {
        long z = (v << 1) ^ (v >> 63);
        byte[] out = new byte[10];
        int n = 0;
        while ((z & ~0x7FL) != 0) {
            out[n++] = (byte) ((z & 0x7f) | 0x80);
            z >>>= 7;
        }
        out[n++] = (byte) z;
        return Arrays.copyOf(out, n);
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static String category(String message) {
        if (message.startsWith("unknown writer schema fingerprint")) return "unknown writer schema fingerprint";
        String m = message.replaceAll("[0-9]+", "N");
        int cut = m.indexOf(':', m.indexOf(':') + 1);
        return cut > 0 && cut < 90 ? m.substring(0, cut) : m.substring(0, Math.min(90, m.length()));
    }
}
