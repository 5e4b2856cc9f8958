package dev.hmem.operators.codec;

/** An input record that cannot be served; the message is what goes into its dead letter. */
public class InvalidRecordException extends Exception {
    public InvalidRecordException(String message) {
        super(message);
    }
}
