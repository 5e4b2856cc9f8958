package dev.hmem.cli;

import dev.hmem.cli.loadgen.LoadGenerator;
import dev.hmem.cli.loadgen.LoadReport;
import dev.hmem.cli.loadgen.PromptPool;
import dev.hmem.cli.loadgen.Workload;
import dev.hmem.model.memory.MemoryBank;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Load against a running job: Poisson (or bursty) arrivals, Zipf popularity over clusters. */
@Command(name = "loadgen", mixinStandardHelpOptions = true,
        description = "Send prompts at a target rate to a running job and report throughput, latency and cache hit rate.")
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
    @Option(names = "--slo-ms", defaultValue = "2000", description = "latency target for goodput") double slo;
    @Option(names = "--prompts", defaultValue = "2000", description = "prompts in the pool") int pool;
    @Option(names = "--seed", defaultValue = "1") long seed;

    @Override
    public Integer call() throws Exception {
        List<String> prompts = PromptPool.probes(corpus, pool);
        Map<String, List<String>> clusters;
        if (bank != null) {
            try (MemoryBank b = MemoryBank.open(bank)) {
                clusters = PromptPool.byLeaf(prompts, b.tree());
            }
        } else {
            clusters = PromptPool.each(prompts);
        }
        Workload w = new Workload(clusters, zipf, rate, cv, seed);
        System.err.printf("%d prompts in %d clusters, %.1f requests/s (cv %.1f), Zipf s=%.2f%n", prompts.size(),
                w.clusterCount(), rate, cv, zipf);
        LoadReport r = LoadGenerator.run(new LoadGenerator.Options(bootstrap, promptsTopic, resultsTopic, seconds, warmup,
                maxNewTokens, slo, 120), w);
        System.out.println(r.format());
        return 0;
    }
}
