package dev.hmem.cli;

import dev.hmem.training.corpus.CorpusBuilder;
import dev.hmem.training.corpus.UserDocuments;
import dev.hmem.training.train.DenseBaseline;
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
    @Option(names = "--dense", description = "train the dense baseline (hidden and FFN x the configuration's denseScale, no memory)"
            + " against --memory-run instead") boolean dense;
    @Option(names = "--widened", description = "train the widened-anchor control (the anchor's FFN widened by the fetched neurons,"
            + " always on) against --memory-run instead") boolean widened;
    @Option(names = "--memory-run", description = "with --dense or --widened: the memory run compared with (same --config and --seed);"
            + " its tokenizer is used, its corpus must come out identical, its tokens or FLOPs set the steps") Path memoryRun;
    @Option(names = "--dense-match", description = "with --dense or --widened: tokens (the paper's protocol; the configuration's"
            + " default) or flops (an extra, compute-matched row)") String denseMatch;
    @Option(names = "--steps-factor", defaultValue = "1", description = "with --dense or --widened: the matched steps times this (a sweep)")
    double stepsFactor;
    @Option(names = "--lr", description = "peak learning rate of the anchor (or baseline) instead of the configuration's (a sweep)")
    Double lr;
    @Option(names = "--lr-memory", description = "peak learning rate of the memory blocks instead of the configuration's (a sweep)")
    Double lrMemory;
    @Option(names = "--wd-memory", description = "weight decay of the memory blocks instead of the configuration's (a sweep)")
    Double wdMemory;
    @Option(names = "--snapshot-every", defaultValue = "0", description = "save the model every N steps into OUT/snapshots/"
            + " (for `hmem eval --curve`)") int snapshotEvery;
    @Option(names = "--documents", description = "train on your own documents instead of the synthetic corpus: a JSONL file"
            + " (\"text\", optional \"id\", \"title\") or a directory of .txt/.md files") Path documents;
    @Option(names = "--probes", description = "with --documents: JSONL question/answer pairs for the fact evaluation") Path probes;
    @Option(names = "--prose-dir", description = "general prose to mix in (default /usr/share/common-licenses)")
    Path prose = CorpusBuilder.PROSE_DIR;

    @Override
    public Integer call() throws Exception {
        TrainConfig c = TrainConfigs.byName(config, seed);
        if (memorySteps != null) {
            if (memorySteps < 0) throw new IllegalArgumentException("--memory-steps must be >= 0, got " + memorySteps);
            c = c.withMemorySteps(memorySteps);
        }
        if (lr != null) c = c.withLrAnchor(lr);
        if (lrMemory != null || wdMemory != null) {
            if (dense || widened) throw new IllegalArgumentException("--lr-memory and --wd-memory are for memory runs; a baseline has no memory");
            c = c.withMemoryOptimizer(lrMemory != null ? lrMemory : c.lrMemory(), wdMemory != null ? wdMemory : c.wdMemory());
        }
        if (stepsFactor != 1 && !(dense || widened)) throw new IllegalArgumentException("--steps-factor is for --dense and --widened");
        if (dense && widened) throw new IllegalArgumentException("give --dense or --widened, not both");
        if ((dense || widened) != (memoryRun != null)) {
            throw new IllegalArgumentException("--dense and --widened need --memory-run (the run they are compared with), and only they take it");
        }
        if (probes != null && documents == null) throw new IllegalArgumentException("--probes goes with --documents");
        try (Trainer t = new Trainer(c, System.err).snapshotEvery(snapshotEvery)) {
            if (documents != null) t.documents(UserDocuments.load(documents, probes, seed, System.err), documents);
            Trainer.Result r;
            if (postHoc != null) {
                r = t.postHoc(postHoc, out, prose);
            } else if (dense || widened) {
                DenseBaseline spec = new DenseBaseline(dense ? DenseBaseline.Kind.SCALED : DenseBaseline.Kind.WIDENED,
                        denseMatch != null ? denseMatch : c.denseMatch(), stepsFactor, lr);
                r = t.dense(out, memoryRun, prose, spec);
            } else {
                r = t.run(out, prose);
            }
            System.out.println("model " + r.modelDir() + (r.bankDir() != null ? "\nbank  " + r.bankDir() : "")
                    + "\nanchor fingerprint " + r.fingerprint());
        }
        return 0;
    }
}
