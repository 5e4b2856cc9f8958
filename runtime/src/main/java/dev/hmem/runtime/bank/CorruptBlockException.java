package dev.hmem.runtime.bank;

/** A block whose bytes do not match the checksum recorded in the bank manifest. */
public class CorruptBlockException extends BankException {
    public CorruptBlockException(String message) {
        super(message);
    }
}
