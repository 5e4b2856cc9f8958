package dev.hmem.cli.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** CPU accounting through OSHI: thread groups, and a thread that spins shows up as the busy one. */
class CpuUsageTest {

    @Test
    void threadNamesGroupWithoutTheirNumbers() {
        assertThat(CpuUsage.group("GC Thread#3")).isEqualTo("GC Thread");
        assertThat(CpuUsage.group("hmem-generate-0")).isEqualTo("hmem-generate");
        assertThat(CpuUsage.group("hmem-java-decode-1")).isEqualTo("hmem-java-decode");
        assertThat(CpuUsage.group("generate (2/2)#0")).isEqualTo("generate");
        assertThat(CpuUsage.group("C2 CompilerThre")).isEqualTo("C2 CompilerThre");
        assertThat(CpuUsage.group("42")).isEqualTo("42");
    }

    @Test
    void aSpinningThreadIsCountedInItsGroup() throws Exception {
        long pid = ProcessHandle.current().pid();
        CpuUsage.Snapshot a = CpuUsage.snapshot(Map.of("this-test", pid));
        long t0 = System.nanoTime();
        java.util.concurrent.CountDownLatch measured = new java.util.concurrent.CountDownLatch(1);
        Thread spin = spinner("spinner-cpu-7", t0, measured);
        spin.start();
        Thread.sleep(1_600);
        CpuUsage.Snapshot b = CpuUsage.snapshot(Map.of("this-test", pid));
        double seconds = (System.nanoTime() - t0) / 1e9;
        measured.countDown();
        spin.join();
        String report = CpuUsage.report(a, b, seconds, 3);
        // One thread spinning ~1.5 s of the interval: well above zero, at most one core.
        assertThat(cores(report, "spinner-cpu")).as(report).isBetween(0.2, 1.05);
        assertThat(report).contains("| this-test |").contains("the machine, busy / available");
    }

    @Test
    void aThreadThatEndedIsStillCounted() throws Exception {
        long pid = ProcessHandle.current().pid();
        CpuUsage.Snapshot a = CpuUsage.snapshot(Map.of("this-test", pid));
        long t0 = System.nanoTime();
        Thread spin = spinner("gone-cpu-3", t0, new java.util.concurrent.CountDownLatch(0));
        spin.start();
        spin.join();
        // join() returns when the Java thread is done; the kernel may list its task a moment longer (seen on a loaded
        // machine). The test is about a thread the OS no longer has, so it waits for that first.
        awaitGoneFromProc("gone-cpu-3");
        CpuUsage.Snapshot b = CpuUsage.snapshot(Map.of("this-test", pid));
        String report = CpuUsage.report(a, b, (System.nanoTime() - t0) / 1e9, 3);
        assertThat(report).doesNotContain("gone-cpu");
        assertThat(cores(report, java.util.regex.Pattern.quote(CpuUsage.ENDED))).as(report).isBetween(0.2, 1.05);
    }

    /** Waits (up to 10 s) until no task of this process has {@code name} (the kernel's comm, cut to 15 characters). */
    private static void awaitGoneFromProc(String name) throws Exception {
        String comm = name.length() > 15 ? name.substring(0, 15) : name;
        long end = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < end) {
            boolean listed = false;
            try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
                for (java.nio.file.Path t : tasks.toList()) {
                    try {
                        if (java.nio.file.Files.readString(t.resolve("comm")).strip().equals(comm)) listed = true;
                    } catch (java.io.IOException ended) {
                        // the task ended while listed
                    }
                }
            }
            if (!listed) return;
            Thread.sleep(20);
        }
        throw new AssertionError("thread " + name + " still listed by the kernel 10 s after it ended");
    }

    /** Spins for 1.5 s from t0, then waits for the latch. */
    private static Thread spinner(String name, long t0, java.util.concurrent.CountDownLatch done) {
        return new Thread(() -> {
            long x = 0;
            while (System.nanoTime() - t0 < 1_500_000_000L) x += System.nanoTime() & 1;
            if (x == 42) System.out.print("");
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name);
    }

    private static double cores(String report, String group) {
        Matcher m = Pattern.compile(group + " ([0-9.]+)").matcher(report);
        assertThat(m.find()).as(report).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
