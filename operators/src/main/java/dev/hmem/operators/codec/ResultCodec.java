package dev.hmem.operators.codec;

import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.schemas.DeadLetter;
import dev.hmem.schemas.GenerationResult;
import dev.hmem.schemas.StageTimings;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/** Results and dead letters to Avro (single-object encoding), and results back for readers. */
public final class ResultCodec {

    private ResultCodec() {}

    public static GenerationResult toAvro(ResultRecord r) {
        List<Integer> ids = new ArrayList<>(r.tokenIds().length);
        for (int t : r.tokenIds()) ids.add(t);
        double[] t = r.timingsMs();
        StageTimings timings = StageTimings.newBuilder()
                .setQueueMs(t[ResultRecord.QUEUE]).setRouteMs(t[ResultRecord.ROUTE])
                .setMemoryLoadMs(t[ResultRecord.MEMORY_LOAD]).setTimeToFirstTokenMs(t[ResultRecord.FIRST_TOKEN])
                .setGenerateMs(t[ResultRecord.GENERATE]).setEndToEndMs(t[ResultRecord.END_TO_END]).build();
        return GenerationResult.newBuilder()
                .setId(r.id()).setText(r.text()).setPromptTokens(r.promptTokens()).setCompletionTokens(r.tokenIds().length)
                .setTokenIds(ids).setMemoryPath(r.memoryPath()).setFinishReason(r.finishReason())
                .setModelVersion(r.modelVersion()).setBankVersion(r.bankVersion()).setTimings(timings)
                .setCacheHits(r.cacheHits()).setCacheMisses(r.cacheMisses()).setError(r.error()).setMemoryFallback(r.memoryFallback())
                .setServedVersion(r.servedVersion()).setBlocked(r.blocked())
                .setClient(new HashMap<>(r.client())).setCreatedAt(Instant.ofEpochMilli(r.createdAt()))
                .setCompletedAt(Instant.ofEpochMilli(r.completedAt())).build();
    }

    public static byte[] encode(dev.hmem.operators.records.PartialResult p) {
        List<Integer> ids = new ArrayList<>(p.newTokenIds().length);
        for (int t : p.newTokenIds()) ids.add(t);
        dev.hmem.schemas.TokenChunk c = dev.hmem.schemas.TokenChunk.newBuilder().setRequestId(p.id()).setSeq(p.seq())
                .setText(p.text()).setCompletionTokens(p.tokens()).setNewTokenIds(ids).setServedVersion(p.servedVersion())
                .setCreatedAt(Instant.ofEpochMilli(p.createdAt())).setEmittedAt(Instant.ofEpochMilli(p.emittedAt())).build();
        return bytes(c::toByteBuffer);
    }

    public static dev.hmem.schemas.TokenChunk decodeChunk(byte[] b) {
        try {
            return dev.hmem.schemas.TokenChunk.fromByteBuffer(ByteBuffer.wrap(b));
        } catch (IOException e) {
            throw new IllegalArgumentException("not a TokenChunk: " + e.getMessage(), e);
        }
    }

    public static byte[] encode(ResultRecord r) {
        GenerationResult g = toAvro(r);
        return bytes(g::toByteBuffer);
    }

    public static GenerationResult decodeResult(byte[] b) {
        try {
            return GenerationResult.fromByteBuffer(ByteBuffer.wrap(b));
        } catch (IOException e) {
            throw new IllegalArgumentException("not a GenerationResult: " + e.getMessage(), e);
        }
    }

    public static byte[] encode(DeadLetterRecord d) {
        DeadLetter a = DeadLetter.newBuilder()
                .setRaw(ByteBuffer.wrap(d.raw() == null ? new byte[0] : d.raw())).setTopic(d.topic())
                .setPartition(d.partition()).setOffset(d.offset()).setStage(d.stage()).setError(d.error())
                .setRequestId(d.requestId()).setFailedAt(Instant.ofEpochMilli(d.failedAt()))
                .setRawSize(d.rawSize()).setRawTruncated(d.rawTruncated()).setRawSha256(d.rawSha256()).build();
        return bytes(a::toByteBuffer);
    }

    public static DeadLetter decodeDeadLetter(byte[] b) {
        try {
            return DeadLetter.fromByteBuffer(ByteBuffer.wrap(b));
        } catch (IOException e) {
            throw new IllegalArgumentException("not a DeadLetter: " + e.getMessage(), e);
        }
    }

    /** The remaining bytes of an encoded record. */
    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** An Avro record's single-object encoding (its encoder's IOException cannot happen in memory). */
    static byte[] bytes(java.util.concurrent.Callable<ByteBuffer> f) {
        try {
            return bytes(f.call());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
