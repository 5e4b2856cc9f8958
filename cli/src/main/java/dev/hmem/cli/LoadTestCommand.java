package dev.hmem.cli;

import dev.hmem.cli.cluster.LocalCluster;
import dev.hmem.cli.loadtest.LoadTest;
import dev.hmem.cli.loadtest.PromptPool;
import dev.hmem.cli.loadtest.Slo;
import dev.hmem.cli.loadtest.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hmem loadtest}: rates, a capacity sweep or concurrencies against a running job. */
@Command(name = "loadtest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Throughput load test of a running job through its Kafka topics: open-loop rates (Poisson or bursty),"
                + " a sweep that finds capacity, or closed-loop concurrencies; Zipf popularity over clusters.",
                "Writes loadtest.json, requests.csv, summary.md and plots to --out."})
final class LoadTestCommand implements Callable<Integer> {
    @Option(names = "--bootstrap-servers", description = "the job's brokers (default: the local cluster's)") String bootstrap;
    @Option(names = "--cluster-run-dir", description = "a local cluster (`hmem cluster up`): its broker and REST API")
    Path clusterRun = Path.of(System.getProperty("user.home"), ".cache", "hmem", "cluster");
    @Option(names = "--flink-rest", description = "the Flink REST address, for per-level cache hits and checkpoints") String flinkRest;
    @Option(names = "--job-id", description = "the job to probe when several run") String jobId;
    @Option(names = "--kafka-property", description = "a Kafka client property key=value (repeatable)") Map<String, String> kafka = new LinkedHashMap<>();
    @Option(names = "--kafka-properties", paramLabel = "FILE", description = "Kafka client properties (a SASL/TLS cluster's security settings), --kafka-property on top") Path kafkaFile;
    @Option(names = "--max-concurrency", defaultValue = "0", description = "open loop: at most this many requests outstanding; an arrival waits for a free slot (0 = no cap)") int maxConcurrency;
    @Option(names = "--ignore-eos", description = "every request generates exactly --max-new-tokens tokens (a fixed output length)") boolean ignoreEos;
    @Option(names = "--ramp", defaultValue = "none", description = "open loop: each step's rate climbs over --ramp-seconds: none, linear or exponential") String rampStrategy;
    @Option(names = "--ramp-seconds", defaultValue = "0", description = "how long the climb takes (keep it within --warmup to leave it out of the figures)") double rampSeconds;
    @Option(names = "--ramp-start", defaultValue = "0.1", description = "the share of the step's rate the climb starts at") double rampStart;
    @Option(names = "--slo-capacity", defaultValue = "0", description = "with --sweep: capacity is the highest rate whose goodput (requests within --slo) is at least this share of the offered rate, e.g. 0.9; 0 = the highest rate the job keeps up with") double sloCapacity;
    @Option(names = "--runs", defaultValue = "1", description = "repeat the whole test this many times; runs.md gives each step's median and range") int runs;
    @Option(names = "--prompts-topic", defaultValue = "hmem-prompts") String promptsTopic;
    @Option(names = "--schema-registry", paramLabel = "URL", description = "a Confluent-compatible schema registry: prompts are "
            + "written in the Confluent wire format with the id of their schema under <prompts-topic>-value (the job needs the same "
            + "--schema-registry); without it, Avro single-object encoding") String schemaRegistry;
    @Option(names = "--token-topic", paramLabel = "TOPIC", description = "the job's --token-topic: requests ask to stream, and a"
            + " read_uncommitted and a read_committed client measure time to first token and inter-token latency from the partial results") String tokenTopic;
    @Option(names = "--results-topic", defaultValue = "hmem-results") String resultsTopic;
    @Option(names = "--corpus", description = "a run's corpus directory: its fact probes are the prompts") Path corpus;
    @Option(names = "--prompts", description = "a file of prompts, one per line (instead of --corpus)") Path promptsFile;
    @Option(names = "--bank", description = "group prompts by the leaf they route to (popularity follows clusters)") Path bank;
    @Option(names = "--max-prompts", defaultValue = "5000") int maxPrompts;
    @Option(names = "--zipf", defaultValue = "1.0", description = "popularity exponent over clusters (0 = uniform)") double zipf;
    @Option(names = "--cv", defaultValue = "1.0", description = "arrival gaps' coefficient of variation: 1 Poisson, >1 bursty (gamma)") double cv;
    @Option(names = "--rates", split = ",", description = "open-loop steps, requests/s (e.g. 1,2,4,8)") List<Double> rates = new ArrayList<>();
    @Option(names = "--sweep", description = "after the given rates, double the rate until it no longer keeps up, then bisect") boolean sweep;
    @Option(names = "--concurrency", split = ",", description = "closed-loop steps: clients (e.g. 1,4,16)") List<Integer> concurrency = new ArrayList<>();
    @Option(names = "--duration", defaultValue = "60", description = "seconds per step") double seconds;
    @Option(names = "--warmup", defaultValue = "10", description = "seconds of each step left out of its figures") double warmup;
    @Option(names = "--drain", defaultValue = "30", description = "seconds after a step for its last answers") double drain;
    @Option(names = "--max-new-tokens", defaultValue = "32") int maxNewTokens;
    @Option(names = "--slo", defaultValue = "ttft=1000,tpot=100,e2e=5000", description = "goodput target, ms") String slo;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--out", description = "output directory (default hmem-work/loadtest-<time>)") Path out;

    @Override
    public Integer call() throws Exception {
        if (rates.isEmpty() && concurrency.isEmpty() && !sweep) throw new IllegalArgumentException("give --rates, --concurrency or --sweep");
        if (warmup >= seconds) throw new IllegalArgumentException("--warmup must be shorter than --duration");
        LocalCluster cluster = LocalCluster.at(clusterRun);
        if (bootstrap == null) {
            if (!cluster.isConfigured()) throw new IllegalArgumentException("--bootstrap-servers is needed (no local cluster in " + clusterRun + ")");
            bootstrap = cluster.bootstrapServers();
            if (flinkRest == null) flinkRest = cluster.rest().address();
        }
        List<String> prompts;
        if (promptsFile != null) {
            prompts = Files.readAllLines(promptsFile).stream().filter(l -> !l.isBlank()).limit(maxPrompts).toList();
        } else if (corpus != null) {
            prompts = PromptPool.probes(corpus, maxPrompts);
        } else {
            throw new IllegalArgumentException("give --corpus or --prompts");
        }
        Map<String, List<String>> clusters = PromptPool.clusters(prompts, bank);
        Workload w = new Workload(clusters, zipf, rates.isEmpty() ? 1 : rates.get(0), cv, seed);
        if (out == null) out = Path.of("hmem-work", "loadtest-" + System.currentTimeMillis() / 1000);
        System.out.println(w.describe() + "; results in " + out);
        // Against the local cluster, each step also says where the machine's CPU went (this process included).
        Map<String, Long> pids = new LinkedHashMap<>();
        if (cluster.isConfigured() && bootstrap.equals(cluster.bootstrapServers())) {
            pids.putAll(cluster.livePids());
            pids.put("loadtest (this process)", ProcessHandle.current().pid());
        }
        if (runs < 1) throw new IllegalArgumentException("--runs must be >= 1");
        Map<String, String> clientProps = dev.hmem.cli.kafka.ClientProperties.read(kafkaFile, kafka);
        List<LoadTest.Run> all = new ArrayList<>();
        LoadTest.Run r = null;
        for (int i = 1; i <= runs; i++) {
            Path dir = runs == 1 ? out : out.resolve("run-" + i);
            if (runs > 1) System.out.printf("run %d of %d%n", i, runs);
            r = LoadTest.run(new LoadTest.Options(bootstrap, clientProps, promptsTopic, resultsTopic, rates, concurrency, sweep,
                    seconds, warmup, drain, maxNewTokens, Slo.parse(slo), flinkRest, jobId, dir, "loadtest", pids, schemaRegistry, tokenTopic,
                    ignoreEos, maxConcurrency, new dev.hmem.cli.loadtest.Ramp(rampStrategy, rampSeconds, rampStart), sloCapacity), w);
            all.add(r);
        }
        System.out.println();
        if (runs > 1) {
            Files.writeString(out.resolve("runs.md"), dev.hmem.cli.loadtest.LoadTestReport.runs(all));
            System.out.print(Files.readString(out.resolve("runs.md")));
        } else {
            System.out.print(Files.readString(out.resolve("summary.md")));
        }
        if (!Double.isNaN(r.capacity())) System.out.printf("capacity: %.2f requests/s%n", r.capacity());
        return 0;
    }
}
