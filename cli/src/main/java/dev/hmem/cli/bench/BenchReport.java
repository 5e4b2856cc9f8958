package dev.hmem.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * Writes one benchmark's section into docs/BENCHMARKS.md between markers, so each bench command
 * refreshes its own figures and leaves the others alone.
 */
public final class BenchReport {

    private BenchReport() {}

    public static void writeSection(Path file, String name, String markdown) throws IOException {
        String start = "<!-- bench:" + name + ":start -->";
        String end = "<!-- bench:" + name + ":end -->";
        String body = start + "\n" + markdown.strip() + "\n" + end;
        String doc = Files.exists(file) ? Files.readString(file) : "# Benchmarks\n";
        int s = doc.indexOf(start), e = doc.indexOf(end);
        if (s >= 0 && e > s) {
            doc = doc.substring(0, s) + body + doc.substring(e + end.length());
        } else {
            doc = doc.stripTrailing() + "\n\n" + body + "\n";
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, doc);
    }

    public static String machine() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException ignored) {
            // not Linux: keep "unknown CPU"
        }
        return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores, Java "
                + System.getProperty("java.version") + ", measured "
                + ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z"));
    }
}
