package dev.hmem.cli.loadtest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A throughput load test of a running job through its Kafka topics, in the manner of vLLM's
 * {@code bench serve} and GuideLLM: a list of open-loop rates (Poisson, or gamma-distributed gaps
 * for burstiness), a capacity sweep, or a list of closed-loop concurrencies; Zipf popularity over
 * the clusters the prompts route to; warm-up excluded; every step's figures, per-request CSV,
 * a markdown summary and plots written to one directory.
 */
public final class LoadTest {

    /**
     * @param rates        open-loop steps (requests/s); empty with no concurrencies = sweep
     * @param concurrencies closed-loop steps (clients)
     * @param flinkRest    the cluster's REST address, for per-level cache hits, checkpoints and engine step
     *                     counters; null = none
     * @param cpuPids      local processes whose CPU each step accounts (name to pid, this one included
     *                     when wanted); empty = none
     */
    public record Options(String bootstrap, Map<String, String> kafkaProperties, String promptsTopic, String resultsTopic,
                          List<Double> rates, List<Integer> concurrencies, boolean sweep, double seconds, double warmup,
                          double drain, int maxNewTokens, Slo slo, String flinkRest, String jobId, Path out, String label,
                          Map<String, Long> cpuPids, String schemaRegistry, String tokenTopic, boolean ignoreEos,
                          int maxConcurrency, Ramp ramp, double sloCapacity) {
        /** Without a schema registry: prompts in single-object encoding. */
        public Options(String bootstrap, Map<String, String> kafkaProperties, String promptsTopic, String resultsTopic,
                       List<Double> rates, List<Integer> concurrencies, boolean sweep, double seconds, double warmup,
                       double drain, int maxNewTokens, Slo slo, String flinkRest, String jobId, Path out, String label,
                       Map<String, Long> cpuPids) {
            this(bootstrap, kafkaProperties, promptsTopic, resultsTopic, rates, concurrencies, sweep, seconds, warmup, drain,
                    maxNewTokens, slo, flinkRest, jobId, out, label, cpuPids, null, null, false, 0, Ramp.NONE, 0);
        }

        /** The same, streaming: requests ask for partial results, read from {@code tokenTopic} by two clients. */
        public Options streaming(String topic) {
            return new Options(bootstrap, kafkaProperties, promptsTopic, resultsTopic, rates, concurrencies, sweep, seconds, warmup,
                    drain, maxNewTokens, slo, flinkRest, jobId, out, label, cpuPids, schemaRegistry, topic, ignoreEos, maxConcurrency,
                    ramp, sloCapacity);
        }
    }

    /** What a run produced. */
    public record Run(List<StepStats> steps, List<StepRunner.Result> results, double capacity, long duplicates) {
        public Run(List<StepStats> steps, List<StepRunner.Result> results, double capacity) {
            this(steps, results, capacity, 0);
        }

        /** Requests of step {@code i} (in run order) answered "overloaded". */
        public long overloaded(int i) {
            return results.get(i).requests().stream().filter(r -> "overloaded".equals(r.finishReason())).count();
        }
    }

    private LoadTest() {}

    public static Run run(Options o, Workload w) throws Exception {
        FlinkProbe probe = o.flinkRest() == null ? null : FlinkProbe.connect(o.flinkRest(), o.jobId());
        Properties pp = new Properties();
        pp.putAll(o.kafkaProperties());
        pp.put("bootstrap.servers", o.bootstrap());
        pp.put("linger.ms", "0");
        pp.put("enable.idempotence", "true");
        List<StepStats> stats = new ArrayList<>();
        List<StepRunner.Result> results = new ArrayList<>();
        double capacity = Double.NaN;
        long duplicates;
        try (ResultListener listener = new ResultListener(o.bootstrap(), o.resultsTopic(), o.kafkaProperties());
             ChunkListener chunks = o.tokenTopic() == null ? null : new ChunkListener(o.bootstrap(), o.tokenTopic(), o.kafkaProperties());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
            // With a registry, prompts go out as a Kafka shop's serializer writes them (subject <topic>-value, as the job's).
            dev.hmem.cli.kafka.PromptEncoder encoder = dev.hmem.cli.kafka.PromptEncoder.of(o.schemaRegistry(), o.promptsTopic() + "-value");
            System.err.println("prompts: " + encoder.describe());
            StepRunner runner = new StepRunner(producer, encoder, listener, chunks, o.promptsTopic(), o.maxNewTokens(), o.drain())
                    .limits(o.ignoreEos(), o.maxConcurrency()).ramp(o.ramp());
            List<StepRunner.Step> steps = new ArrayList<>();
            Map<String, Integer> seen = new java.util.HashMap<>();
            for (double r : o.rates()) {
                // A rate given twice (a warm-up step, then the measured one) gets a label of its own:
                // labels name the steps in tables, files and plot series.
                String label = String.format(Locale.ROOT, "rate-%.2f", r);
                int n = seen.merge(label, 1, Integer::sum);
                steps.add(new StepRunner.Step(n == 1 ? label : label + "-" + n, r, 0, o.seconds(), o.warmup()));
            }
            for (int c : o.concurrencies()) steps.add(new StepRunner.Step("clients-" + c, 0, c, o.seconds(), o.warmup()));
            for (StepRunner.Step s : steps) step(runner, s, w, o, probe, stats, results);
            if (o.sweep()) capacity = sweep(runner, w, o, probe, stats, results);
            duplicates = listener.duplicates();
        }
        stats.sort(java.util.Comparator.comparingDouble((StepStats s) -> s.concurrency()).thenComparingDouble(StepStats::offeredRate));
        if (o.out() != null) {
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("label", o.label());
            config.put("bootstrap_servers", o.bootstrap());
            config.put("prompts_topic", o.promptsTopic());
            config.put("step_seconds", o.seconds());
            config.put("warmup_seconds", o.warmup());
            config.put("max_new_tokens", o.maxNewTokens());
            config.put("slo", o.slo().toString());
            config.put("workload", w.describe());
            if (!Double.isNaN(capacity)) config.put("capacity_requests_per_second", capacity);
            if (o.sloCapacity() > 0) config.put("capacity_criterion", "goodput >= " + o.sloCapacity() + " x offered rate (SLO " + o.slo() + ")");
            if (!o.ramp().strategy().equals("none")) config.put("ramp", o.ramp().strategy() + " over " + o.ramp().seconds() + " s from "
                    + o.ramp().startFraction() + " of each step's rate");
            config.put("duplicate_answers", duplicates);
            LoadTestReport.write(o.out(), config, stats, results);
            LoadTestPlots.latencyVsLoad(stats, o.out().resolve("latency-vs-load.png"));
            LoadTestPlots.throughputVsLoad(stats, o.out().resolve("throughput-vs-load.png"));
            LoadTestPlots.ttftCdf(results, o.out().resolve("ttft-cdf.png"));
        }
        return new Run(stats, results, capacity, duplicates);
    }

    private static StepStats step(StepRunner runner, StepRunner.Step s, Workload w, Options o, FlinkProbe probe,
                                  List<StepStats> stats, List<StepRunner.Result> results) throws Exception {
        runner.awaitCaughtUp(s.label(), 180);
        // The warm-up is not the step's: the observer reads the job and the machine when it ends.
        StepObserver observer = new StepObserver(probe, o.cpuPids(), s.warmupSeconds(), s.seconds());
        StepRunner.Result r = runner.run(s, w);
        Map<String, Double> checkpoints = probe == null ? Map.of()
                : probe.checkpoints(r.startEpochMs() + (long) (s.warmupSeconds() * 1000), r.endEpochMs());
        StepStats st = StepStats.of(r, o.slo(), observer.hitRates(), checkpoints, observer.engine(), observer.cpu());
        stats.add(st);
        results.add(r);
        return st;
    }

    /** The run's table (as summary.md has it), for a terminal. */
    public static String summary(Run r) {
        return LoadTestReport.markdown(Map.of("slo", r.steps().isEmpty() ? "" : "see --slo"), r.steps());
    }

    /**
     * A step keeps up when it achieves 90% of the offered rate and answers 95% of its requests in time, and at most 5%
     * of its answers are errors (a job that sheds load answers the excess "overloaded": answered, not served).
     */
    static boolean keepsUp(StepStats s) {
        int n = Math.max(1, s.measured());
        return s.achievedRate() >= 0.9 * s.offeredRate() && s.unanswered() <= 0.05 * n && s.errors() <= 0.05 * n;
    }

    /**
     * The sweep's criterion: the step keeps up, and with {@code --slo-capacity F} also serves at least F of the offered
     * rate within the SLO (goodput): the capacity a service promise allows, not only the rate the job absorbs.
     */
    static boolean meets(StepStats s, Options o) {
        return keepsUp(s) && (o.sloCapacity() <= 0 || s.goodput() >= o.sloCapacity() * s.offeredRate());
    }

    /** Doubles the rate until a step no longer meets the criterion, then bisects twice; returns the highest rate that did. */
    private static double sweep(StepRunner runner, Workload w, Options o, FlinkProbe probe, List<StepStats> stats,
                                List<StepRunner.Result> results) throws Exception {
        double good = 0, bad = Double.NaN, rate = o.rates().isEmpty() ? 1 : o.rates().get(o.rates().size() - 1) * 2;
        for (int i = 0; i < 12 && Double.isNaN(bad); i++, rate *= 2) {
            StepStats s = step(runner, new StepRunner.Step(String.format(Locale.ROOT, "sweep-%.2f", rate), rate, 0, o.seconds(), o.warmup()),
                    w, o, probe, stats, results);
            if (meets(s, o)) good = rate; else bad = rate;
        }
        for (int i = 0; i < 2 && !Double.isNaN(bad); i++) {
            double mid = (good + bad) / 2;
            StepStats s = step(runner, new StepRunner.Step(String.format(Locale.ROOT, "sweep-%.2f", mid), mid, 0, o.seconds(), o.warmup()),
                    w, o, probe, stats, results);
            if (meets(s, o)) good = mid; else bad = mid;
        }
        return good;
    }
}
