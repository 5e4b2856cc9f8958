package dev.hmem.runtime.generate;

/** Why a sequence stopped generating. */
public enum FinishReason {
    /** The model produced an end-of-sequence token. */
    EOS,
    /** max_new_tokens reached, or the context is full. */
    LENGTH,
    /** A stop string appeared; the text ends before it. */
    STOP
}
