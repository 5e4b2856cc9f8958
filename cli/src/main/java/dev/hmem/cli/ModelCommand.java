package dev.hmem.cli;

import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.config.Presets;
import dev.hmem.runtime.io.DType;
import dev.hmem.training.export.GgufExport;
import dev.hmem.training.export.GgufWriter;
import dev.hmem.training.tokenizer.BpeTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Anchor model directories: random ones for tests and benchmarks, and a summary of any. */
@Command(name = "model", description = "Create and describe anchor model directories.",
        subcommands = {ModelCommand.CreateRandom.class, ModelCommand.Info.class, ModelCommand.ExportGguf.class, ModelCommand.Upload.class})
final class ModelCommand {

    @Command(name = "create-random", mixinStandardHelpOptions = true,
            description = "A Llama of a named shape with random weights and a BPE tokenizer trained on text files.")
    static final class CreateRandom implements Callable<Integer> {
        @Option(names = "--out", required = true) Path out;
        @Option(names = "--preset", defaultValue = "bench", description = "shape (bench: the 31.5M reference Llama; paper: the paper's 160M anchor, d 512, 35 layers, FFN 2048)") String preset;
        @Parameters(arity = "1..*", description = "text files to train the tokenizer on") List<Path> corpus;
        @Option(names = "--vocab", defaultValue = "8192") int vocab;
        @Option(names = "--dtype", defaultValue = "f32") String dtype;
        @Option(names = "--seed", defaultValue = "1") long seed;

        @Override
        public Integer call() throws Exception {
            List<String> texts = new ArrayList<>();
            for (Path p : corpus) texts.add(Files.readString(p));
            BpeTrainer.Vocabulary v = BpeTrainer.train(texts, vocab, 2);
            // The tokenizer may learn fewer merges than asked for on a small corpus; size the model to it.
            ModelConfig shape = Presets.byName(preset, v.size(), v.bosId(), v.eosId());
            BpeTrainer.write(v, out, shape.maxPositions());
            try (AnchorWeights w = AnchorWeights.random(shape, seed)) {
                String fp = w.save(out, DType.parse(dtype));
                System.out.printf(Locale.ROOT, "wrote %s: %.1fM parameters, tokenizer of %d tokens (%d learned), fingerprint %s%n",
                        out, shape.parameterCount() / 1e6, v.size(), v.merges().size(), fp);
            }
            return 0;
        }
    }

    @Command(name = "export-gguf", mixinStandardHelpOptions = true,
            description = "Write the anchor (without memory) as a GGUF file for llama.cpp's llama architecture.")
    static final class ExportGguf implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "an hmem model directory (config.json, weights, tokenizer.json)") Path model;
        @Option(names = "--out", required = true) Path out;
        @Option(names = "--type", defaultValue = "f32", description = "f32, or f16 for every matrix (norms stay f32)") String type;

        @Override
        public Integer call() throws Exception {
            GgufWriter.TensorType t = switch (type.toLowerCase(Locale.ROOT)) {
                case "f32" -> GgufWriter.TensorType.F32;
                case "f16" -> GgufWriter.TensorType.F16;
                default -> throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                        "--type " + type + ": expected f32 or f16");
            };
            ModelConfig c = ModelConfig.load(model);
            try (AnchorWeights w = AnchorWeights.load(model, c)) {
                GgufExport.write(w, GgufExport.Vocabulary.of(model, c), model.toAbsolutePath().getFileName().toString(), t, out);
            }
            System.out.printf(Locale.ROOT, "wrote %s (%s, %.1f MB)%n", out, t, Files.size(out) / 1e6);
            return 0;
        }
    }

    @Command(name = "upload", mixinStandardHelpOptions = true,
            description = {"Copy a model directory to any Flink file system URI (s3://bucket/models/NAME): the job's --model",
                    "then takes that URI and each TaskManager copies it to its own disk once, so no shared volume is needed.",
                    "S3 settings as Flink's (-c s3.endpoint=..., -c s3.access-key=..., -c s3.secret-key=...)."})
    static final class Upload implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "the local model directory") Path model;
        @picocli.CommandLine.Mixin UploadTarget target;
        @Option(names = "--verify", description = "copy it back as a TaskManager does and check that it loads with the same weights") boolean verify;

        @Override
        public Integer call() throws Exception {
            ModelConfig c = ModelConfig.load(model);  // refuse what is not a model before anything is written
            String local;
            try (AnchorWeights w = AnchorWeights.load(model, c)) {
                local = w.fingerprint;
            }
            target.copy(model);
            if (!verify) return 0;
            Path scratch = Files.createTempDirectory("hmem-model-verify");
            try {
                Path back = dev.hmem.operators.memory.LocalCopies.of(target.to, scratch);
                try (AnchorWeights w = AnchorWeights.load(back, ModelConfig.load(back))) {
                    if (!w.fingerprint.equals(local)) {
                        System.err.println("the copy at " + target.to + " loads with other weights (" + w.fingerprint + ") than " + model + " (" + local + ")");
                        return 1;
                    }
                }
                dev.hmem.runtime.tokenizer.TextTokenizer.load(back).close();
                System.out.println("verified: " + target.to + " loads with the same weights and tokenizer");
                return 0;
            } finally {
                try (var walk = Files.walk(scratch)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            }
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Describe a model directory.")
    static final class Info implements Callable<Integer> {
        @Option(names = "--model", required = true) Path model;

        @Override
        public Integer call() throws Exception {
            ModelConfig c = ModelConfig.load(model);
            try (AnchorWeights w = AnchorWeights.load(model, c)) {
                System.out.println("model        " + model);
                System.out.println("shape        " + c.summary());
                System.out.println("fingerprint  " + w.fingerprint);
            }
            return 0;
        }
    }
}
