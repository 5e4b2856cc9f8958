package dev.hmem.operators.records;

/**
 * Which failures belong to one record and which to the process. A record may provoke any
 * exception in a library (Avro, tokenizers, the model) — those become its dead letter; but a
 * {@link VirtualMachineError} (out of memory, stack overflow, an internal error) says the JVM is no
 * longer trustworthy and must fail the task.
 */
public final class Failures {

    private Failures() {}

    /** Rethrows {@code t} if it must not be absorbed as one record's failure. */
    public static void rethrowIfFatal(Throwable t) {
        if (t instanceof VirtualMachineError e) throw e;
        if (t instanceof InterruptedException) Thread.currentThread().interrupt();
    }

    /** "Type: message" (the type alone when there is no message), cut to a dead letter's error length. */
    public static String describe(Throwable t) {
        String msg = t.getMessage();
        String type = t.getClass().getSimpleName();
        return RecordLimits.error(msg == null || msg.isBlank() ? type : type + ": " + msg);
    }
}
