package dev.hmem.runtime.generate;

/**
 * A finished generation.
 *
 * @param tokens        generated token ids (without the end-of-sequence token)
 * @param text          decoded text, cut before a stop string if one matched
 * @param queueNanos    submit until the sequence entered the batch
 * @param firstTokenNanos submit until the first generated token
 * @param totalNanos    submit until finished
 */
public record Completion(String id, int[] tokens, String text, int promptTokens, FinishReason finishReason,
                         String memoryLabel, long queueNanos, long firstTokenNanos, long totalNanos) {

    /** Decode time per output token after the first, in nanoseconds (0 for single-token outputs). */
    public long timePerOutputTokenNanos() {
        return tokens.length <= 1 ? 0 : (totalNanos - firstTokenNanos) / (tokens.length - 1);
    }
}
