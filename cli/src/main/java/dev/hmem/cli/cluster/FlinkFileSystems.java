package dev.hmem.cli.cluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.plugin.DefaultPluginManager;
import org.apache.flink.core.plugin.DirectoryBasedPluginFinder;
import org.apache.flink.core.plugin.PluginDescriptor;

/**
 * Flink's file systems in a client process (the CLI, a test): what a TaskManager does at start — each plugin folder
 * behind its own class loader, then {@link FileSystem#initialize} with the configuration — so `hmem bank upload`
 * and a test read and write {@code s3://} through the very plugin the cluster runs.
 */
public final class FlinkFileSystems {

    private FlinkFileSystems() {}

    /** The local cluster's plugins folder (cluster/target/flink/plugins). */
    public static Path defaultPlugins() {
        return ClusterCommand.home().resolve("cluster/target/flink/plugins");
    }

    public static void initialize(Path pluginsDir, Map<String, String> settings) throws Exception {
        Configuration conf = Configuration.fromMap(settings);
        java.util.Collection<PluginDescriptor> plugins = Files.isDirectory(pluginsDir) ? new DirectoryBasedPluginFinder(pluginsDir).findPlugins() : List.of();
        String[] parentFirst = CoreOptions.getPluginParentFirstLoaderPatterns(conf);
        FileSystem.initialize(conf, new DefaultPluginManager(plugins, parentFirst));
    }

    /**
     * Copies every file under {@code dir} to {@code to} (a directory URI on any initialized Flink file system), with
     * progress; a bank's manifest and a model's config.json go last, so a reader never sees a manifest whose blocks (or
     * a config whose weights) are still on their way.
     * Returns the bytes copied.
     */
    public static long copyDirectory(Path dir, String to) throws java.io.IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + " is not a directory");
        List<Path> files;
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            files = new java.util.ArrayList<>(s.filter(Files::isRegularFile).sorted().toList());
        }
        // The file a reader looks for first goes last: a bank's manifest, a model's config.
        for (String last : List.of(dev.hmem.runtime.bank.BankManifest.FILE, "config.json")) {
            Path f = dir.resolve(last);
            if (files.remove(f)) files.add(f);
        }
        long total = 0;
        for (Path f : files) total += Files.size(f);
        dev.hmem.runtime.Progress p = dev.hmem.runtime.Progress.of("upload", total, "bytes");
        byte[] buf = new byte[1 << 20];
        for (Path f : files) {
            String rel = dir.relativize(f).toString().replace('\\', '/');
            org.apache.flink.core.fs.Path target = new org.apache.flink.core.fs.Path(to.replaceAll("/+$", "") + "/" + rel);
            FileSystem fs = target.getFileSystem();
            try (java.io.InputStream in = Files.newInputStream(f); java.io.OutputStream out = fs.create(target, FileSystem.WriteMode.OVERWRITE)) {
                for (int n; (n = in.read(buf)) > 0; ) {
                    out.write(buf, 0, n);
                    p.advance(n);
                }
            }
        }
        return total;
    }
}
