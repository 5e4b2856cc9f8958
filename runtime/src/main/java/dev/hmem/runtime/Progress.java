package dev.hmem.runtime;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress with rate and ETA for long-running commands (training, bank building, load tests),
 * printed at most every few seconds so logs stay readable.
 */
public final class Progress {

    private final String task;
    private final long total;
    private final String unit;
    private final PrintStream out;
    private final long start = System.nanoTime();
    private final long intervalNanos;
    private long lastPrint;
    private long done;

    public Progress(String task, long total, String unit, PrintStream out, double intervalSeconds) {
        this.task = task;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.intervalNanos = (long) (intervalSeconds * 1e9);
        this.lastPrint = start;
    }

    /** A progress line on stderr every 5 s. */
    public static Progress of(String task, long total, String unit) {
        return new Progress(task, total, unit, System.err, 5);
    }

    /** A sink that never prints (tests, nested tasks). */
    public static Progress silent(long total) {
        return new Progress("", total, "", null, 0);
    }

    public void advance(long n) {
        advance(n, null);
    }

    /** Adds {@code n} finished units; {@code detail} (e.g. the loss) is appended to the line. */
    public void advance(long n, String detail) {
        done += n;
        long now = System.nanoTime();
        if (out != null && (now - lastPrint >= intervalNanos || done >= total)) {
            lastPrint = now;
            out.println(line(now, detail));
        }
    }

    public long done() {
        return done;
    }

    public double elapsedSeconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    String line(long now, String detail) {
        double secs = (now - start) / 1e9;
        double rate = secs > 0 ? done / secs : 0;
        double eta = rate > 0 ? (total - done) / rate : Double.NaN;
        String pct = total > 0 ? String.format(Locale.ROOT, "%5.1f%%", 100.0 * done / total) : "";
        return String.format(Locale.ROOT, "[%s] %d/%d %s %s, %.1f %s/s, elapsed %s, ETA %s%s", task, done, total,
                unit, pct, rate, unit, duration(secs), Double.isNaN(eta) ? "?" : duration(eta),
                detail == null ? "" : ", " + detail);
    }

    public static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
    }
}
