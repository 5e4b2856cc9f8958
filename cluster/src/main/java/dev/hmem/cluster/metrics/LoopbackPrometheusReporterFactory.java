package dev.hmem.cluster.metrics;

import java.util.Properties;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.util.PortRange;

/**
 * {@code metrics.reporter.prom.factory.class: dev.hmem.cluster.metrics.LoopbackPrometheusReporterFactory},
 * with {@code host} (default 127.0.0.1) and {@code port} (a port or range, default 9249) as the
 * stock Prometheus reporter takes them.
 */
public final class LoopbackPrometheusReporterFactory implements MetricReporterFactory {

    @Override
    public MetricReporter createMetricReporter(Properties properties) {
        String host = properties.getProperty("host", "127.0.0.1");
        String ports = properties.getProperty("port", "9249");
        return new LoopbackPrometheusReporter(host, new PortRange(ports).getPortsIterator(), ports);
    }
}
