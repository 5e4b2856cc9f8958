package dev.hmem.cli;

import dev.hmem.runtime.Progress;
import dev.hmem.runtime.anchor.AnchorWeights;
import dev.hmem.runtime.bank.BankException;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.io.DType;
import dev.hmem.training.bank.RandomBank;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Creating, inspecting and verifying memory banks. */
@Command(name = "bank", description = "Create, inspect, verify and erase parts of memory banks.",
        subcommands = {BankCommand.CreateRandom.class, BankCommand.Inspect.class, BankCommand.Verify.class, BankCommand.Erase.class, BankUpload.class})
final class BankCommand {

    @Command(name = "create-random", mixinStandardHelpOptions = true,
            description = {"A bank of any shape with random blocks and a random tree (tests, benchmarks). Resumable: run it again",
                    "after an interruption and the levels already written are kept. The disk space is checked first."})
    static final class CreateRandom implements Callable<Integer> {
        @Option(names = "--model", description = "the anchor the bank belongs to (or give --hidden and --layers)") Path model;
        @Option(names = "--hidden", description = "the anchor's hidden size, without --model (a bank for serving benchmarks)") Integer hidden;
        @Option(names = "--layers", description = "the anchor's layers, without --model") Integer layers;
        @Option(names = "--paper", description = "the paper's bank: k=16, r=256,64,16, d=512, 35 layers, bf16 (4.62B parameters, 9.3 GB)")
        boolean paper;
        @Option(names = "--out", required = true) Path out;
        @Option(names = "--branching", defaultValue = "16") int branching;
        @Option(names = "--depth", defaultValue = "3") int depth;
        @Option(names = "--neurons", split = ",", defaultValue = "64,32,16", description = "r per level, e.g. 64,32,16") int[] neurons;
        @Option(names = "--generic", defaultValue = "0", description = "neurons of the generic memory (0 = none)") int generic;
        @Option(names = "--dtype", defaultValue = "f32", description = "f32, bf16 or f16") String dtype;
        @Option(names = "--zero-down", description = "zero down projections (a fresh memory: output unchanged)") boolean zeroDown;
        @Option(names = "--seed", defaultValue = "1") long seed;

        @Override
        public Integer call() throws Exception {
            if (paper) {
                branching = 16;
                depth = 3;
                neurons = new int[] {256, 64, 16};
                hidden = hidden == null ? 512 : hidden;
                layers = layers == null ? 35 : layers;
                dtype = "bf16";
            }
            BankManifest.Anchor anchor;
            if (model != null) {
                if (hidden != null || layers != null) throw new IllegalArgumentException("give --model or --hidden/--layers, not both");
                ModelConfig c = ModelConfig.load(model);
                try (AnchorWeights w = AnchorWeights.load(model, c)) {
                    anchor = new BankManifest.Anchor(w.fingerprint, c.hiddenSize(), c.numLayers());
                }
            } else {
                if (hidden == null || layers == null || hidden < 1 || layers < 1) {
                    throw new IllegalArgumentException("give --model, or --hidden and --layers (>= 1) for a bank without an anchor");
                }
                // No anchor to fingerprint: the bank says so, and a model that checks the pairing refuses it.
                anchor = new BankManifest.Anchor("random-anchor-d" + hidden + "-l" + layers, hidden, layers);
            }
            if (neurons.length != depth) {
                throw new IllegalArgumentException("--neurons lists " + neurons.length + " levels but --depth is " + depth);
            }
            BankManifest m = RandomBank.create(out, anchor, branching, depth, neurons, generic, DType.parse(dtype), zeroDown, seed);
            System.out.printf(Locale.ROOT, "wrote %s: %s%n", out, summary(m));
            return 0;
        }
    }

    /**
     * Checks every block of {@code b} against its checksum, printing each corrupt one; exit code 0 or 1.
     * {@code where} ends both verdicts (" at s3://..."), {@code okExtra} only the good one (", anchor matches").
     */
    static int verifyBlocks(MemoryBank b, String where, String okExtra) throws java.io.IOException {
        List<BlockId> ids = b.allBlocks();
        Progress p = Progress.of("verify", ids.size(), "blocks");
        List<String> bad = new ArrayList<>();
        for (BlockId id : ids) {
            try {
                b.readVerified(id);
            } catch (BankException e) {
                bad.add(e.getMessage());
            }
            p.advance(1);
        }
        if (!bad.isEmpty()) {
            bad.forEach(System.out::println);
            System.out.println(bad.size() + " of " + ids.size() + " blocks are corrupt" + where);
            return 1;
        }
        System.out.println("OK: " + ids.size() + " blocks verified" + where + okExtra);
        return 0;
    }

    static String summary(BankManifest m) {
        return String.format(Locale.ROOT, "k=%d depth=%d, %.1fM bank parameters, %d neurons fetched per layer (%.2fM parameters)",
                m.tree().branching(), m.tree().depth(), m.bankParameters() / 1e6, m.fetchedNeurons(),
                3.0 * m.fetchedNeurons() * m.anchor().hiddenSize() * m.anchor().numHiddenLayers() / 1e6);
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true, description = "Describe a bank.")
    static final class Inspect implements Callable<Integer> {
        @Option(names = "--bank", required = true) Path bank;
        @Option(names = "--json", description = "print the manifest") boolean json;

        @Override
        public Integer call() throws Exception {
            try (MemoryBank b = MemoryBank.open(bank)) {
                BankManifest m = b.manifest();
                if (json) {
                    System.out.println(Files.readString(bank.resolve(BankManifest.FILE)));
                    return 0;
                }
                System.out.println("bank      " + bank);
                System.out.println("anchor    " + m.anchor().fingerprint() + " (" + m.anchor().numHiddenLayers() + " layers, d "
                        + m.anchor().hiddenSize() + ")");
                System.out.println("tree      k=" + m.tree().branching() + ", depth " + m.tree().depth() + ", "
                        + m.tree().embeddingModel() + " (" + m.tree().embeddingDim() + "-d)");
                System.out.println("summary   " + summary(m));
                System.out.println("level  neurons  blocks  dtype  block bytes  file");
                List<BankManifest.Level> all = new ArrayList<>(m.levels());
                if (m.generic() != null) all.add(0, m.generic());
                for (BankManifest.Level l : all) {
                    System.out.printf(Locale.ROOT, "%-6s %7d %7d  %-5s %12d  %s%n", l.level() == 0 ? "gen" : l.level(),
                            l.neurons(), l.nodes(), l.dtype(), l.blockBytes(), l.file());
                }
                if (m.description() != null) System.out.println("about     " + m.description());
            }
            return 0;
        }
    }

    @Command(name = "erase", mixinStandardHelpOptions = true,
            description = {"Write a copy of a bank with the blocks of some subtrees erased (zeros on storage, for requests that",
                    "need the bytes gone), to serve with 'hmem swap'. Prompts routed into an erased subtree are answered as",
                    "if their path stopped above it, exactly as when it is blocked."})
    static final class Erase implements Callable<Integer> {
        @Option(names = "--bank", required = true, paramLabel = "DIR") Path bank;
        @Option(names = "--path", required = true, split = ",", paramLabel = "PATH", description = "subtree roots (3, 3.11) or 'generic'") List<String> paths;
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "the new bank's directory (must not exist)") Path out;

        @Override
        public Integer call() throws Exception {
            try (MemoryBank b = MemoryBank.open(bank)) {
                long blocks = b.manifest().levels().stream().mapToLong(BankManifest.Level::nodes).sum();
                BankManifest m = dev.hmem.runtime.bank.BankDeletion.write(b, out, paths, Progress.of("erase", blocks, "blocks"));
                System.out.println("wrote " + out + ": " + m.description());
                return 0;
            }
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check every block against its checksum (and, with --model, the anchor pairing).")
    static final class Verify implements Callable<Integer> {
        @Option(names = "--bank", required = true) Path bank;
        @Option(names = "--model", description = "also check the bank belongs to this anchor") Path model;

        @Override
        public Integer call() throws Exception {
            try (MemoryBank b = MemoryBank.open(bank)) {
                if (model != null) {
                    try (AnchorWeights w = AnchorWeights.load(model, ModelConfig.load(model))) {
                        b.checkAnchor(w.identity());
                    }
                }
                return verifyBlocks(b, "", model != null ? ", anchor matches" : "");
            }
        }
    }
}
