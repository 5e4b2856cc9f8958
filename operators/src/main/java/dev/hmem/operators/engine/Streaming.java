package dev.hmem.operators.engine;

import dev.hmem.operators.records.PartialResult;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.runtime.generate.BatchGenerator;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Partial results of the streaming prompts in the generator, made between steps: the first as soon as a prompt has
 * its first token, then after every {@code streamEveryTokens} new tokens or {@code streamEveryMs}, whichever comes
 * first. Each carries the whole text so far, decoded from all its tokens, with a character still incomplete at its end
 * held back: a later chunk's text then extends an earlier one's (for valid UTF-8), and a lost or repeated chunk is
 * harmless to a client. Engine thread only.
 */
public final class Streaming {

    private final ServingConfig config;
    private final Function<int[], String> decode;
    private final GenerationEngine.Listener listener;
    private final Map<String, State> states = new HashMap<>();

    private static final class State {
        final PromptTask task;
        int seq;
        int sent;
        long lastNanos;

        State(PromptTask task) {
            this.task = task;
        }
    }

    /**
     * The text without trailing U+FFFD: a character whose bytes are split across tokens decodes to a replacement
     * character until its last byte arrives, so it is held back to the next partial result instead of shown broken.
     */
    public static String heldBack(String text) {
        int end = text.length();
        while (end > 0 && text.charAt(end - 1) == '\uFFFD') end--;
        return text.substring(0, end);
    }

    Streaming(ServingConfig config, Function<int[], String> decode, GenerationEngine.Listener listener) {
        this.config = config;
        this.decode = decode;
        this.listener = listener;
    }

    /** After a step: a partial result for each streaming prompt that is due one. */
    void afterStep(BatchGenerator generator, Map<String, RunningPrompt> inFlight) {
        states.keySet().retainAll(inFlight.keySet());  // answered, poisoned or given back: nothing more to stream
        for (RunningPrompt f : inFlight.values()) {
            PromptTask t = f.pending().task;
            if (t.stream()) states.computeIfAbsent(t.uid(), k -> new State(t));
        }
        if (states.isEmpty()) return;
        long now = System.nanoTime();
        long everyNanos = config.streamEveryMs() * 1_000_000L;
        generator.forEachRunning(states::containsKey, (uid, view) -> {
            State s = states.get(uid);
            int fresh = view.remaining() - s.sent;
            if (fresh <= 0) return;
            boolean due = s.seq == 0 || fresh >= config.streamEveryTokens() || now - s.lastNanos >= everyNanos;
            if (!due) return;
            int[] tokens = new int[view.remaining()];
            view.get(tokens);
            PromptTask t = s.task;
            listener.partial(t, new PartialResult(t.id(), s.seq, heldBack(decode.apply(tokens)), tokens.length,
                    Arrays.copyOfRange(tokens, s.sent, tokens.length), t.version() == null ? null : t.version().label(),
                    t.createdAt(), System.currentTimeMillis()));
            s.seq++;
            s.sent = tokens.length;
            s.lastNanos = now;
        });
    }
}
