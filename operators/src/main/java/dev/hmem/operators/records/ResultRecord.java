package dev.hmem.operators.records;

import java.util.Map;

/**
 * The answer to one prompt (or the reason there is none), on its way to the results topic.
 *
 * @param finishReason eos, length, stop or error
 * @param timingsMs    queue, route, memory load, time to first token, generate, end to end
 */
public record ResultRecord(
        String id, String text, int promptTokens, int[] tokenIds, String memoryPath, String finishReason,
        String modelVersion, String bankVersion, double[] timingsMs, int cacheHits, int cacheMisses, String error,
        Map<String, String> client, long createdAt, long completedAt) {

    public static final int QUEUE = 0, ROUTE = 1, MEMORY_LOAD = 2, FIRST_TOKEN = 3, GENERATE = 4, END_TO_END = 5;

    /** A result that reports why the request could not be answered. */
    public static ResultRecord error(String id, String error, Map<String, String> client, long createdAt, String modelVersion) {
        long now = System.currentTimeMillis();
        double[] t = new double[6];
        t[END_TO_END] = Math.max(0, now - createdAt);
        return new ResultRecord(id, "", 0, new int[0], "", "error", modelVersion, "", t, 0, 0, error,
                client == null ? Map.of() : client, createdAt, now);
    }
}
