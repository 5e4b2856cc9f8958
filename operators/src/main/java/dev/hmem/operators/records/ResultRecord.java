package dev.hmem.operators.records;

import java.util.Map;

/**
 * The answer to one prompt (or the reason there is none), on its way to the results topic.
 *
 * @param memoryPath     the memory the answer used ("3.11", "none", "generic")
 * @param finishReason   eos, length, context, stop, error or overloaded
 * @param timingsMs      queue, route, memory load, time to first token, generate, end to end
 * @param memoryFallback why the answer used less memory than was routed (and what was routed), or null
 * @param servedVersion  the label of the serving version that answered ({@code initial} or an activate's), or null
 * @param blocked        what a block command cut from the routed path, or null
 */
public record ResultRecord(
        String id, String text, int promptTokens, int[] tokenIds, String memoryPath, String finishReason,
        String modelVersion, String bankVersion, double[] timingsMs, int cacheHits, int cacheMisses, String error,
        Map<String, String> client, long createdAt, long completedAt, String memoryFallback, String servedVersion,
        String blocked) {

    public static final int QUEUE = 0, ROUTE = 1, MEMORY_LOAD = 2, FIRST_TOKEN = 3, GENERATE = 4, END_TO_END = 5;

    /** A result that reports why the request could not be answered. */
    public static ResultRecord error(String id, String error, Map<String, String> client, long createdAt, String modelVersion) {
        return refusal(id, "error", error, client, createdAt, modelVersion);
    }

    /** A result without an answer: {@code reason} is its finish reason ("error", "overloaded"), {@code error} why. */
    public static ResultRecord refusal(String id, String reason, String error, Map<String, String> client, long createdAt,
                                      String modelVersion) {
        long now = System.currentTimeMillis();
        double[] t = new double[6];
        t[END_TO_END] = Math.max(0, now - createdAt);
        return new ResultRecord(id, "", 0, new int[0], "", reason, modelVersion, "", t, 0, 0, error,
                client == null ? Map.of() : client, createdAt, now, null, null, null);
    }

    /** The same result, saying which serving version {@code t} was routed with and what was blocked on its path. */
    public ResultRecord servedFor(PromptTask t) {
        return withServed(t.version() == null ? null : t.version().label(), t.blocked());
    }

    /** The same result, saying which serving version answered and what was blocked. */
    public ResultRecord withServed(String version, String blockedNote) {
        return new ResultRecord(id, text, promptTokens, tokenIds, memoryPath, finishReason, modelVersion, bankVersion, timingsMs,
                cacheHits, cacheMisses, error, client, createdAt, completedAt, memoryFallback, version, blockedNote);
    }
}
