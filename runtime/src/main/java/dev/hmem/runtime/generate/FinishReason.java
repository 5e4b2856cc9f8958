package dev.hmem.runtime.generate;

/** Why a sequence stopped generating. */
public enum FinishReason {
    /** The model produced an end-of-sequence token. */
    EOS,
    /** max_new_tokens reached. */
    LENGTH,
    /**
     * The context is full before max_new_tokens were generated: the prompt and the tokens asked for do not fit
     * together, and the answer is cut (never reported as {@code LENGTH}, which would say the request was honoured).
     */
    CONTEXT,
    /** A stop string appeared; the text ends before it. */
    STOP
}
