package dev.hmem.operators.records;

import dev.hmem.operators.control.BlockList;
import dev.hmem.operators.control.ServedVersion;
import java.util.Map;

/**
 * One prompt on its way through the job: decoded (request fields), validated (token ids),
 * routed (memory path and routing key). Immutable; each stage returns a copy with its fields set.
 *
 * @param uid         unique per input record (topic-partition@offset)
 * @param raw         the record's bytes until routing (for dead letters), then null
 * @param tokens      prompt token ids, set by validation
 * @param seed        sampling seed (derived from the id when the request has none)
 * @param forcedPath  a path the request asked for, or null
 * @param path        the memory path ("3.11.7"), "none" or "generic", set by routing
 * @param createdAt   client's creation time (or the Kafka timestamp), epoch ms
 * @param receivedAt  when the job decoded it, epoch ms
 * @param routeMs     this prompt's share of its routing batch
 * @param deadlineAt  epoch ms by which its generation must have started, else it is answered "overloaded"
 *                    ({@link Long#MAX_VALUE}: none)
 * @param engineFailures generation steps that failed the whole engine with this prompt in the batch, across restarts
 *                    (checkpointed with the pending prompt)
 * @param version     the bank and anchor version routing used, set by routing (null before): the prompt is answered by
 *                    it alone
 * @param blocked     what a block command took out of its path ("subtree 3.11 blocked; routed 3.11.7"), or null
 * @param stream      partial results go to the token topic as they are generated
 * @param ignoreEos   generate {@code maxNewTokens} tokens whatever the end-of-sequence token says
 */
public record PromptTask(
        String uid, String id, String text, byte[] raw, String topic, int partition, long offset,
        int[] tokens, int maxNewTokens, double temperature, int topK, double topP, long seed, String[] stop,
        String forcedPath, boolean noMemory, Map<String, String> client, long createdAt, long receivedAt,
        String path, double routeMs, long deadlineAt, int engineFailures, ServedVersion version, String blocked,
        boolean stream, boolean ignoreEos) {

    public PromptTask withTokens(int[] ids) {
        return new PromptTask(uid, id, text, raw, topic, partition, offset, ids, maxNewTokens, temperature, topK, topP,
                seed, stop, forcedPath, noMemory, client, createdAt, receivedAt, path, routeMs, deadlineAt, engineFailures, version, blocked, stream, ignoreEos);
    }

    /** Routed: the raw bytes are no longer needed downstream and are dropped. */
    public PromptTask withRoute(String memoryPath, double ms) {
        return new PromptTask(uid, id, text, null, topic, partition, offset, tokens, maxNewTokens, temperature, topK, topP,
                seed, stop, forcedPath, noMemory, client, createdAt, receivedAt, memoryPath, ms, deadlineAt, engineFailures, version, blocked, stream, ignoreEos);
    }

    /** One more engine failure with this prompt in the batch. */
    public PromptTask withEngineFailure() {
        return new PromptTask(uid, id, text, raw, topic, partition, offset, tokens, maxNewTokens, temperature, topK, topP,
                seed, stop, forcedPath, noMemory, client, createdAt, receivedAt, path, routeMs, deadlineAt, engineFailures + 1, version, blocked, stream, ignoreEos);
    }

    /** Routed with {@code v}. */
    public PromptTask withVersion(ServedVersion v) {
        return new PromptTask(uid, id, text, raw, topic, partition, offset, tokens, maxNewTokens, temperature, topK, topP,
                seed, stop, forcedPath, noMemory, client, createdAt, receivedAt, path, routeMs, deadlineAt, engineFailures, v, blocked, stream, ignoreEos);
    }

    /** Its path as {@code blocks} leaves it: cut above the first blocked node, the cut recorded; unchanged if nothing is blocked. */
    public PromptTask withBlocks(BlockList blocks) {
        BlockList.Cut cut = blocks.cut(path);
        if (cut == null) return this;
        String why = (cut.blocked().equals("generic") ? "the generic memory" : "subtree " + cut.blocked())
                + " blocked; routed " + path + (blocked != null ? "; " + blocked : "");
        return new PromptTask(uid, id, text, raw, topic, partition, offset, tokens, maxNewTokens, temperature, topK, topP,
                seed, stop, forcedPath, noMemory, client, createdAt, receivedAt, cut.used(), routeMs, deadlineAt, engineFailures,
                version, RecordLimits.error(why), stream, ignoreEos);
    }
}
