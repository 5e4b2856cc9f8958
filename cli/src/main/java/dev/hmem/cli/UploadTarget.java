package dev.hmem.cli;

import dev.hmem.cli.cluster.FlinkFileSystems;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Option;

/** Where an upload goes, through Flink's own file systems: the options `bank upload` and `model upload` share. */
final class UploadTarget {

    @Option(names = "--to", required = true, description = "the destination URI (its directory)") String to;
    @Option(names = {"-c", "--conf"}, description = "a Flink configuration entry key=value (repeatable)") Map<String, String> conf = new LinkedHashMap<>();
    @Option(names = "--plugins", description = "Flink's plugins folder (default: the local cluster's, with the S3 plugin)") Path plugins;

    /** Copies every file under {@code dir} to {@link #to} (a bank's manifest and a model's config last), with progress. */
    long copy(Path dir) throws Exception {
        FlinkFileSystems.initialize(plugins != null ? plugins : FlinkFileSystems.defaultPlugins(), conf);
        long total = FlinkFileSystems.copyDirectory(dir, to);
        System.out.printf(Locale.ROOT, "uploaded %,d bytes to %s%n", total, to);
        return total;
    }
}
