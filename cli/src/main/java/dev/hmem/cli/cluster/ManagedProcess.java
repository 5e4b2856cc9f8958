package dev.hmem.cli.cluster;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One OS process the local cluster started: its pid file, its output file, and a marker
 * ({@code -Dhmem.process=<pid file>}) on its command line, so that stopping it never hits a process
 * that merely reuses the pid. It outlives the command that started it ({@code cluster up} returns
 * while the cluster runs); stdin is /dev/null and stdout/stderr append to the output file.
 */
public final class ManagedProcess {

    private final String name;
    private final Path pidFile;
    private final Path output;

    ManagedProcess(String name, Path pidFile, Path output) {
        this.name = name;
        this.pidFile = pidFile;
        this.output = output;
    }

    public String name() {
        return name;
    }

    public Path output() {
        return output;
    }

    /** The marker this process carries on its command line. */
    String marker() {
        return "-Dhmem.process=" + pidFile.toAbsolutePath();
    }

    /**
     * Starts {@code java} with {@code jvmArgs}, the marker, then {@code mainAndArgs}; returns once the
     * process exists (not once it is ready: callers wait for its port or REST endpoint).
     */
    void start(Path java, List<String> jvmArgs, List<String> mainAndArgs, Path workDir, java.util.Map<String, String> env)
            throws IOException {
        if (isAlive()) throw new IllegalStateException(name + " is already running (pid " + pid().orElseThrow() + ")");
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(jvmArgs);
        cmd.add(marker());
        cmd.addAll(mainAndArgs);
        Files.createDirectories(output.getParent());
        Files.createDirectories(pidFile.getParent());
        Files.writeString(output, "# " + String.join(" ", cmd) + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        Files.writeString(pidFile, Long.toString(p.pid()));
    }

    /** The pid of the running process, if its pid file names a live process that carries its marker. */
    public Optional<Long> pid() {
        if (!Files.exists(pidFile)) return Optional.empty();
        long pid;
        try {
            pid = Long.parseLong(Files.readString(pidFile).trim());
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
        Path cmdline = Path.of("/proc", Long.toString(pid), "cmdline");
        try {
            String cl = new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).replace('\0', ' ');
            return cl.contains(marker()) ? Optional.of(pid) : Optional.empty();
        } catch (IOException gone) {
            return Optional.empty();
        }
    }

    public boolean isAlive() {
        return pid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
    }

    /**
     * Stops the process: SIGTERM and a grace period ({@code force}: SIGKILL at once, as a crash
     * would). Returns once it is gone; the pid file is removed.
     */
    public void stop(boolean force, Duration grace) throws IOException {
        Optional<ProcessHandle> h = pid().flatMap(ProcessHandle::of);
        if (h.isPresent()) {
            ProcessHandle p = h.get();
            if (force) p.destroyForcibly(); else p.destroy();
            try {
                p.onExit().get(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                p.destroyForcibly();
                p.onExit().join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while stopping " + name, e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IOException("stopping " + name + " failed", e);
            }
        }
        Files.deleteIfExists(pidFile);
    }

    @Override
    public String toString() {
        return name + pid().map(p -> " (pid " + p + ")").orElse(" (not running)");
    }
}
