package dev.hmem.cli.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Kafka client properties for the CLI's producers and consumers: a properties file (security settings of a SASL/TLS
 * cluster, which do not belong on a command line) with single {@code key=value} flags on top, as the job takes them.
 */
public final class ClientProperties {

    private ClientProperties() {}

    public static Map<String, String> read(Path file, Map<String, String> flags) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        if (file != null) {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException e) {
                throw new IOException("--kafka-properties: cannot read " + file + ": " + e.getMessage(), e);
            }
            for (String k : p.stringPropertyNames()) out.put(k, p.getProperty(k));
        }
        if (flags != null) out.putAll(flags);
        return out;
    }
}
