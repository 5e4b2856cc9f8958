package dev.hmem.cluster.metrics;

import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.HTTPServer;
import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.util.Iterator;
import org.apache.flink.metrics.prometheus.AbstractPrometheusReporter;

/**
 * Flink's Prometheus reporter, listening on one address instead of all of them. The stock reporter
 * binds its HTTP server to every interface, which the local cluster must not do (everything it
 * starts listens on 127.0.0.1 only). Metric names, labels and types are the stock reporter's: this
 * class only opens the HTTP server, on the reporter's own registry.
 */
public final class LoopbackPrometheusReporter extends AbstractPrometheusReporter {

    private final HTTPServer server;
    private final int port;

    LoopbackPrometheusReporter(String host, Iterator<Integer> ports, String portsText) {
        CollectorRegistry registry = registryOf(this);
        HTTPServer started = null;
        int bound = -1;
        while (ports.hasNext() && started == null) {
            int p = ports.next();
            try {
                started = new HTTPServer(new InetSocketAddress(host, p), registry);
                bound = p;
            } catch (IOException taken) {
                // try the next port of the range, as the stock reporter does
            }
        }
        if (started == null) {
            throw new IllegalStateException("no free port for the Prometheus reporter on " + host + " in " + portsText);
        }
        this.server = started;
        this.port = bound;
        log.info("Prometheus reporter listening on {}:{}", host, bound);
    }

    int port() {
        return port;
    }

    /** The registry the stock reporter's collectors live in (a field it keeps to its package). */
    private static CollectorRegistry registryOf(AbstractPrometheusReporter r) {
        try {
            Field f = AbstractPrometheusReporter.class.getDeclaredField("registry");
            f.setAccessible(true);
            return (CollectorRegistry) f.get(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this Flink's Prometheus reporter keeps no 'registry' field", e);
        }
    }

    @Override
    public void close() {
        server.stop();
        super.close();
    }
}
