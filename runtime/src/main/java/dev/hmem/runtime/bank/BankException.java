package dev.hmem.runtime.bank;

/** A memory bank that cannot be used: malformed, corrupt, or built for another anchor. */
public class BankException extends RuntimeException {
    public BankException(String message) {
        super(message);
    }

    public BankException(String message, Throwable cause) {
        super(message, cause);
    }
}
