package dev.hmem.cli;

import dev.hmem.runtime.generate.SamplingParams;
import java.util.List;
import picocli.CommandLine.Option;

/** Sampling flags shared by the commands that generate. */
final class SamplingOptions {
    @Option(names = "--max-new-tokens", defaultValue = "48") int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy") double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "0 = off") int topK;
    @Option(names = "--top-p", defaultValue = "1", description = "1 = off") double topP;
    @Option(names = "--seed", description = "sampling seed (same seed, same text)") Long seed;
    @Option(names = "--stop", description = "stop string (repeatable)") List<String> stop;
    @Option(names = "--ignore-eos", description = "keep generating past end-of-sequence") boolean ignoreEos;

    SamplingParams params() {
        return new SamplingParams(maxNewTokens, temperature, topK, topP, seed, stop, ignoreEos);
    }
}
