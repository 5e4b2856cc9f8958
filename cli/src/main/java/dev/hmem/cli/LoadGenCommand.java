package dev.hmem.cli;

import dev.hmem.cli.loadtest.LoadTest;
import dev.hmem.cli.loadtest.PromptPool;
import dev.hmem.cli.loadtest.Slo;
import dev.hmem.cli.loadtest.Workload;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hmem loadgen}: one open-loop step against a running job, its figures printed (`loadtest` does more). */
@Command(name = "loadgen", mixinStandardHelpOptions = true,
        description = "Send prompts at a rate (Poisson, or bursty) to a running job and print throughput and latency.")
final class LoadGenCommand implements Callable<Integer> {
    @Option(names = "--bootstrap-servers", required = true) String bootstrap;
    @Option(names = "--prompts-topic", defaultValue = "hmem-prompts") String promptsTopic;
    @Option(names = "--results-topic", defaultValue = "hmem-results") String resultsTopic;
    @Option(names = "--corpus", required = true, description = "a run's corpus directory: its fact probes are the prompts") Path corpus;
    @Option(names = "--bank", description = "group prompts by the leaf they route to (Zipf over clusters)") Path bank;
    @Option(names = "--rate", defaultValue = "4", description = "requests per second") double rate;
    @Option(names = "--cv", defaultValue = "1", description = "arrival gap coefficient of variation (1 = Poisson)") double cv;
    @Option(names = "--zipf", defaultValue = "1.0", description = "popularity exponent over clusters") double zipf;
    @Option(names = "--seconds", defaultValue = "60") double seconds;
    @Option(names = "--warmup", defaultValue = "10", description = "seconds excluded from the statistics") double warmup;
    @Option(names = "--max-new-tokens", defaultValue = "16") int maxNewTokens;
    @Option(names = "--slo-ms", defaultValue = "2000", description = "end-to-end latency target for goodput") double slo;
    @Option(names = "--prompts", defaultValue = "2000", description = "prompts in the pool") int pool;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--kafka-properties", paramLabel = "FILE", description = "Kafka client properties (a SASL/TLS cluster's security settings)") Path kafkaFile;
    @Option(names = "--kafka-property", description = "a Kafka client property key=value (repeatable), over the file's") Map<String, String> kafka = new java.util.LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        List<String> prompts = PromptPool.probes(corpus, pool);
        Map<String, List<String>> clusters = PromptPool.clusters(prompts, bank);
        Workload w = new Workload(clusters, zipf, rate, cv, seed);
        System.out.println(w.describe() + ", " + rate + " requests/s");
        LoadTest.Run r = LoadTest.run(new LoadTest.Options(bootstrap, dev.hmem.cli.kafka.ClientProperties.read(kafkaFile, kafka), promptsTopic, resultsTopic, List.of(rate), List.of(),
                false, seconds, warmup, 30, maxNewTokens, new Slo(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, slo),
                null, null, null, "loadgen", Map.of()), w);
        System.out.print(dev.hmem.cli.loadtest.LoadTest.summary(r));
        return 0;
    }
}
