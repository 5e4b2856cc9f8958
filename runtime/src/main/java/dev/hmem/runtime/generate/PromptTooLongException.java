package dev.hmem.runtime.generate;

/** A prompt that does not fit the model's context (or is empty). */
public class PromptTooLongException extends IllegalArgumentException {
    public PromptTooLongException(String message) {
        super(message);
    }
}
