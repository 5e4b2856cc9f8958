package dev.hmem.cli;

import dev.hmem.training.corpus.CorpusBuilder;
import dev.hmem.training.train.TrainConfig;
import dev.hmem.training.train.TrainConfigs;
import dev.hmem.training.train.Trainer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Builds a model: corpus, tokenizer, tree, then anchor and memories (or variants). */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train an anchor and its memory bank from a named configuration (resumable).")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", defaultValue = "demo", description = "micro, demo, or paper-flat, paper-s, paper-m, paper-l (the scaling study)") String config;
    @Option(names = "--out", required = true, description = "run directory (model/, bank/, corpus/, training.json)") Path out;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--memory-steps", description = "stage-2 steps instead of the configuration's (the scaling study keeps"
            + " updates per leaf block equal across bank sizes)") Integer memorySteps;
    @Option(names = "--post-hoc", description = "train memories only, on this frozen anchor directory") Path postHoc;
    @Option(names = "--dense", description = "train the dense baseline (width x denseScale, no memory) instead") boolean dense;
    @Option(names = "--tokenizer-from", description = "with --dense: reuse this model directory's tokenizer") Path tokenizerFrom;
    @Option(names = "--prose-dir", description = "general prose to mix in (default /usr/share/common-licenses)")
    Path prose = CorpusBuilder.PROSE_DIR;

    @Override
    public Integer call() throws Exception {
        TrainConfig c = TrainConfigs.byName(config, seed);
        if (memorySteps != null) {
            if (memorySteps < 0) throw new IllegalArgumentException("--memory-steps must be >= 0, got " + memorySteps);
            c = c.withMemorySteps(memorySteps);
        }
        try (Trainer t = new Trainer(c, System.err)) {
            Trainer.Result r;
            if (postHoc != null) {
                r = t.postHoc(postHoc, out, prose);
            } else if (dense) {
                r = t.dense(out, tokenizerFrom, prose);
            } else {
                r = t.run(out, prose);
            }
            System.out.println("model " + r.modelDir() + (r.bankDir() != null ? "\nbank  " + r.bankDir() : "")
                    + "\nanchor fingerprint " + r.fingerprint());
        }
        return 0;
    }
}
