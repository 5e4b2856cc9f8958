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
}
