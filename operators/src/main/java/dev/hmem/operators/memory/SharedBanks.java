package dev.hmem.operators.memory;

import dev.hmem.runtime.bank.MemoryBank;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The banks open in this JVM, one per location however many subtasks serve it: a TaskManager with N generate slots
 * reads a bank's manifest and tree (a 65,536-leaf tree is megabytes) once, not N times, and its subtasks share one
 * store. A lease counts its holders; the bank closes when the last lets go, so a job that is cancelled or restarted
 * in full opens the bank afresh (a bank replaced at the same location is then read again). Reads are thread-safe
 * already: every block cache loads on its own threads.
 */
public final class SharedBanks {

    private static final Map<String, Entry> OPEN = new HashMap<>();

    private static final class Entry {
        final MemoryBank bank;
        int holders;

        Entry(MemoryBank bank) {
            this.bank = bank;
        }
    }

    /** One holder's share of an open bank; closing it closes the bank with its last holder. */
    public static final class Lease implements AutoCloseable {
        private final String location;
        private final MemoryBank bank;
        private boolean closed;

        private Lease(String location, MemoryBank bank) {
            this.location = location;
            this.bank = bank;
        }

        public MemoryBank bank() {
            return bank;
        }

        @Override
        public void close() throws IOException {
            MemoryBank toClose = null;
            synchronized (OPEN) {
                if (closed) return;
                closed = true;
                Entry e = OPEN.get(location);
                if (e != null && e.bank == bank && --e.holders == 0) {
                    OPEN.remove(location);
                    toClose = bank;
                }
            }
            if (toClose != null) toClose.close();
        }
    }

    private SharedBanks() {}

    /** A lease on the bank at {@code location}, opening it if no one in this JVM holds it. */
    public static Lease acquire(String location) throws IOException {
        synchronized (OPEN) {
            Entry e = OPEN.get(location);
            if (e == null) {
                // Opened under the lock: a second subtask waits for the first's read instead of reading the tree again.
                e = new Entry(BankStores.open(location));
                OPEN.put(location, e);
            }
            e.holders++;
            return new Lease(location, e.bank);
        }
    }

    /** Holders of the bank at {@code location} in this JVM (0 = not open). */
    public static int holders(String location) {
        synchronized (OPEN) {
            Entry e = OPEN.get(location);
            return e == null ? 0 : e.holders;
        }
    }
}
