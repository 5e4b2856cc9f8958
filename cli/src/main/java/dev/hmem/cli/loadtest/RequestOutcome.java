package dev.hmem.cli.loadtest;

import dev.hmem.schemas.GenerationResult;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One request of a load test as the client saw it and as the job timed it. Times are
 * milliseconds; {@code e2eMs} is what the client waited (send to committed result, the checkpoint
 * commit included), {@code producedMs} what the job took (created to completed), and their
 * difference the delay exactly-once delivery adds. Time to first token is counted from creation
 * (client clock) to the first generated token: the job's end-to-end time less its decoding after
 * the first token.
 *
 * @param cluster the leaf the prompt routes to (its popularity class)
 * @param sentMs  when it was sent, milliseconds since the step began
 * @param streamTtftMs    streaming: send to the first partial result as a read_uncommitted client reads it (NaN: not streamed)
 * @param streamItlMs     streaming: that client's time per token between its first and last partial result
 * @param committedTtftMs the same for a read_committed client (partial results visible once their checkpoint commits)
 * @param committedItlMs  ...
 * @param inputTokens     the prompt's tokens as the job counted them
 */
public record RequestOutcome(String id, String cluster, double sentMs, boolean answered, boolean ok, String finishReason,
                             int outputTokens, double e2eMs, double producedMs, double ttftMs, double tpotMs, double queueMs,
                             int cacheHits, int cacheMisses, String memoryPath, double streamTtftMs, double streamItlMs,
                             double committedTtftMs, double committedItlMs, int inputTokens) {

    public static RequestOutcome unanswered(String id, String cluster, double sentMs) {
        return new RequestOutcome(id, cluster, sentMs, false, false, "", 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                Double.NaN, 0, 0, "", Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
    }

    /** From a result read {@code receivedMs} after it was sent at {@code sentEpochMs}. */
    public static RequestOutcome of(String id, String cluster, double sentMs, GenerationResult g, double clientE2eMs) {
        var t = g.getTimings();
        boolean ok = g.getError() == null;
        double produced = t == null ? Double.NaN : t.getEndToEndMs();
        double decodeAfterFirst = t == null ? 0 : Math.max(0, t.getGenerateMs() - t.getTimeToFirstTokenMs());
        double ttft = produced - decodeAfterFirst;
        double tpot = g.getCompletionTokens() > 1 ? decodeAfterFirst / (g.getCompletionTokens() - 1) : Double.NaN;
        return new RequestOutcome(id, cluster, sentMs, true, ok, g.getFinishReason(), g.getCompletionTokens(), clientE2eMs,
                produced, ttft, tpot, t == null ? Double.NaN : t.getQueueMs(), g.getCacheHits(), g.getCacheMisses(),
                g.getMemoryPath(), Double.NaN, Double.NaN, Double.NaN, Double.NaN, g.getPromptTokens());
    }

    /** With what the streaming readers saw (either may be null: nothing arrived there). */
    RequestOutcome withStream(ChunkListener.Seen uncommitted, ChunkListener.Seen committed, long sentNanos) {
        return new RequestOutcome(id, cluster, sentMs, answered, ok, finishReason, outputTokens, e2eMs, producedMs, ttftMs, tpotMs,
                queueMs, cacheHits, cacheMisses, memoryPath,
                uncommitted == null ? Double.NaN : (uncommitted.firstNanos() - sentNanos) / 1e6,
                uncommitted == null ? Double.NaN : uncommitted.interTokenMs(),
                committed == null ? Double.NaN : (committed.firstNanos() - sentNanos) / 1e6,
                committed == null ? Double.NaN : committed.interTokenMs(), inputTokens);
    }

    public double commitDelayMs() {
        return e2eMs - producedMs;
    }

    static final String[] CSV_HEADER = {"id", "cluster", "sent_ms", "answered", "ok", "finish_reason", "input_tokens", "output_tokens", "e2e_ms",
            "produced_ms", "ttft_ms", "tpot_ms", "queue_ms", "commit_delay_ms", "cache_hits", "cache_misses", "memory_path",
            "stream_ttft_ms", "stream_itl_ms", "committed_ttft_ms", "committed_itl_ms"};

    /** The CSV row's values, in {@link #CSV_HEADER}'s order (the CSV printer quotes what needs quoting: ids are the client's). */
    List<Object> csv() {
        return Arrays.asList(id, cluster, round(sentMs, 1), answered, ok, finishReason, inputTokens, outputTokens, round(e2eMs, 2),
                round(producedMs, 2), round(ttftMs, 2), round(tpotMs, 3), round(queueMs, 2), round(commitDelayMs(), 2),
                cacheHits, cacheMisses, memoryPath, round(streamTtftMs, 2), round(streamItlMs, 3), round(committedTtftMs, 2),
                round(committedItlMs, 3));
    }

    private static String round(double v, int digits) {
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
