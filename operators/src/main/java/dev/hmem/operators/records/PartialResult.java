package dev.hmem.operators.records;

/**
 * A streaming request's text so far, on its way to the token topic (the final answer stays a {@link ResultRecord}).
 *
 * @param seq         0, 1, 2, ... per request and generation attempt
 * @param text        the whole text generated so far
 * @param tokens      tokens generated so far
 * @param newTokenIds the tokens since the previous partial result
 */
public record PartialResult(String id, int seq, String text, int tokens, int[] newTokenIds, String servedVersion,
                            long createdAt, long emittedAt) {}
