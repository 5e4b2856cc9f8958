package dev.hmem.cli.control;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Which job a control command goes to (its brokers and topics), how long to wait, and the send-and-report loop. */
public final class ControlTarget {

    @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT")
    String bootstrap;
    @Option(names = "--control-topic", paramLabel = "TOPIC", description = "the job's --control-topic (default: ${DEFAULT-VALUE})")
    String controlTopic = "hmem-control";
    @Option(names = "--status-topic", paramLabel = "TOPIC", description = "the job's status topic (default: <control-topic>-status)")
    String statusTopic;
    @Option(names = "--timeout-s", paramLabel = "S", description = "how long to wait for every subtask's report (default: ${DEFAULT-VALUE})")
    long timeoutSeconds = 600;
    @Option(names = "--kafka-properties", paramLabel = "FILE", description = "Kafka client properties (security) for the producer and consumer")
    Path kafkaPropertiesFile;
    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE", description = "one client property (repeatable)")
    Map<String, String> kafkaProperties = new LinkedHashMap<>();

    Map<String, String> properties() throws IOException {
        return dev.hmem.cli.kafka.ClientProperties.read(kafkaPropertiesFile, kafkaProperties);
    }

    /** Sends {@code c}, prints each report, and returns the exit code: 0 all accepted, 1 refused, 2 timed out. */
    int run(ControlCommand c, Duration timeout) throws Exception {
        ControlClient client = new ControlClient(bootstrap, properties(), controlTopic,
                statusTopic != null ? statusTopic : controlTopic + "-status");
        long sent = System.currentTimeMillis();
        System.out.println(c.kind().wireName() + " sent as " + c.requestId() + "; waiting for every subtask (up to " + timeout.toSeconds() + " s)");
        ControlClient.Outcome o = client.send(c, timeout, s -> System.out.println(line(s, sent)));
        if (!o.complete()) {
            System.out.println("timed out after " + timeout.toSeconds() + " s: " + o.reports().size() + " reports, not every subtask has answered");
            return 2;
        }
        System.out.println(o.refused() ? "REFUSED: the serving version and block list are unchanged where refused"
                : "done: every subtask reported in " + o.millisToFinal(sent) + " ms");
        return o.refused() ? 1 : 0;
    }

    private static String line(ControlStatus s, long sent) {
        return String.format("  +%6d ms  %-8s %d/%d  %-8s %s%s", s.at() - sent, s.operator(), s.subtask() + 1, s.parallelism(),
                s.state(), s.version() == null ? "" : s.version() + " ", s.detail() == null ? "" : s.detail());
    }
}
