package dev.hmem.cli;

import dev.hmem.cli.sizing.BankShape;
import dev.hmem.cli.sizing.CachePolicy;
import dev.hmem.cli.sizing.CapacityModel;
import dev.hmem.cli.sizing.LeafPopularity;
import dev.hmem.cli.sizing.Placement;
import dev.hmem.runtime.bank.BankManifest;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Sizing a deployment from the capacity model: each level's block-cache hit rate for a bank shape, a Zipf popularity
 * over its leaves, a budget per subtask and a number of subtasks, with hmem's hierarchy-aware placement and without;
 * with {@code --target-hit}, the smallest cache per subtask that reaches it. Predictions only: `bench cache`
 * measures the same points on the real cache.
 */
@Command(name = "size", mixinStandardHelpOptions = true,
        description = {"Predict block-cache hit rates per level, and the cache a target needs, for a bank and a popularity law.",
                "Default shape: the paper's bank (k=16, r=256,64,16, d=512, 35 layers)."})
final class SizeCommand implements Callable<Integer> {

    @Option(names = "--bank", description = "a bank directory (its manifest gives the shape) instead of the shape options") Path bank;
    @Option(names = "--branching", defaultValue = "16") int branching;
    @Option(names = "--neurons", split = ",", defaultValue = "256,64,16", description = "r per level") int[] neurons;
    @Option(names = "--hidden", defaultValue = "512") int hidden;
    @Option(names = "--layers", defaultValue = "35") int layers;
    @Option(names = "--zipf", split = ",", defaultValue = "0.8,1.0,1.2", description = "Zipf exponents of leaf popularity") double[] zipf;
    @Option(names = "--budget-mb", split = ",", description = "block-cache budgets per subtask, MiB (default: 5..100% of the deep working set)")
    long[] budgetMb;
    @Option(names = "--subtasks", defaultValue = "2", description = "generate subtasks (P)") int subtasks;
    @Option(names = "--pinned-levels", defaultValue = "1", description = "levels pinned outside the budget, as the job's option") int pinned;
    @Option(names = "--policy", defaultValue = "tinylfu", description = "tinylfu (hmem's Caffeine cache) or lru") String policy;
    @Option(names = "--target-hit", description = "also find the smallest budget per subtask at which the deepest level hits this often, for 1..16 subtasks")
    Double targetHit;
    @Option(names = "--slots-per-tm", defaultValue = "1", description = "generate slots per TaskManager (for MB per TaskManager)") int slotsPerTm;
    @Option(names = "--seed", defaultValue = "1", description = "which leaves are popular (ranks dealt at random)") long seed;

    @Override
    public Integer call() throws Exception {
        BankShape shape = bank != null ? BankShape.of(BankManifest.parse(java.nio.file.Files.readAllBytes(bank.resolve(BankManifest.FILE)), bank.toString())) : BankShape.of(branching, neurons, hidden, layers, 4);
        if (pinned < 0 || pinned >= shape.depth()) throw new IllegalArgumentException("--pinned-levels must be in [0, " + (shape.depth() - 1) + "], got " + pinned);
        if (subtasks < 1) throw new IllegalArgumentException("--subtasks must be >= 1, got " + subtasks);
        if (targetHit != null && !(targetHit > 0 && targetHit < 1)) throw new IllegalArgumentException("--target-hit must be in (0, 1), got " + targetHit);
        CachePolicy p = CachePolicy.named(policy);
        long deep = shape.levelBytes(pinned + 1, shape.depth());
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "bank: k=%d, %d levels, %,d leaves; cached block MiB per level %s (f32, as the cache holds them); "
                + "%s pinned (%.0f MiB per subtask); deep working set %.0f MiB; policy %s; P=%d%n%n",
                shape.branching(), shape.depth(), shape.leaves(), mib(shape.blockBytes()),
                pinned == 0 ? "no level" : pinned == 1 ? "level 1" : "levels 1-" + pinned, shape.levelBytes(1, pinned) / 1048576.0,
                deep / 1048576.0, policy, subtasks));
        long[] budgets = budgetMb != null ? scale(budgetMb) : fractions(deep, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0);
        for (double s : zipf) {
            LeafPopularity law = LeafPopularity.zipf(shape, s, seed);
            Placement spread = Placement.spread(shape.nodes(1), subtasks), aware = Placement.affinity(law, subtasks, 200_000, seed);
            out.append(String.format(Locale.ROOT, "Zipf %.2f%n| cache MiB / subtask | %% of deep set |", s));
            for (int l = pinned + 1; l <= shape.depth(); l++) out.append(" L").append(l).append(" aware | L").append(l).append(" round-robin |");
            out.append(" MiB read / prompt, aware | round-robin |\n|---|---|");
            for (int l = pinned + 1; l <= shape.depth(); l++) out.append("---|---|");
            out.append("---|---|\n");
            for (long b : budgets) {
                var a = CapacityModel.predict(law, aware, b, pinned, p);
                var r = CapacityModel.predict(law, spread, b, pinned, p);
                out.append(String.format(Locale.ROOT, "| %.0f | %.0f%% |", b / 1048576.0, 100.0 * b / deep));
                for (int l = pinned + 1; l <= shape.depth(); l++) {
                    out.append(String.format(Locale.ROOT, " %.1f%% | %.1f%% |", 100 * a.hit()[l - 1], 100 * r.hit()[l - 1]));
                }
                out.append(String.format(Locale.ROOT, " %.2f | %.2f |%n", a.missBytes() / 1048576.0, r.missBytes() / 1048576.0));
            }
            out.append('\n');
            if (targetHit != null) out.append(target(shape, law, p, deep));
        }
        System.out.print(out);
        return 0;
    }

    /** For P = 1, 2, 4, 8, 16: the smallest budget per subtask whose deepest-level hit rate reaches the target. */
    private String target(BankShape shape, LeafPopularity law, CachePolicy p, long deep) {
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT,
                "Cache for a %.0f%% hit rate at level %d (%d slot(s) per TaskManager)%n| subtasks | aware MiB / subtask | per TM | "
                        + "round-robin MiB / subtask | per TM |%n|---|---|---|---|---|%n", 100 * targetHit, shape.depth(), slotsPerTm));
        for (int n = 1; n <= 16; n *= 2) {
            long a = smallest(law, Placement.affinity(law, n, 200_000, seed), p, deep);
            long r = smallest(law, Placement.spread(shape.nodes(1), n), p, deep);
            t.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s |%n", n, mb(a), mb(a * slotsPerTm), mb(r), mb(r * slotsPerTm)));
        }
        return t.append('\n').toString();
    }

    private long smallest(LeafPopularity law, Placement placement, CachePolicy p, long deep) {
        int depth = law.shape().depth();
        if (CapacityModel.predict(law, placement, deep, pinned, p).hit()[depth - 1] < targetHit) return -1;
        long lo = 0, hi = deep;
        while (hi - lo > Math.max(1 << 20, deep / 1000)) {
            long mid = (lo + hi) >>> 1;
            if (CapacityModel.predict(law, placement, mid, pinned, p).hit()[depth - 1] >= targetHit) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    private static String mb(long bytes) {
        return bytes < 0 ? "unreachable" : String.format(Locale.ROOT, "%,.0f", bytes / 1048576.0);
    }

    private static String mib(long[] bytes) {
        StringBuilder s = new StringBuilder();
        for (long b : bytes) s.append(s.length() == 0 ? "" : "/").append(String.format(Locale.ROOT, "%.2f", b / 1048576.0));
        return s.toString();
    }

    private static long[] scale(long[] mb) {
        long[] b = new long[mb.length];
        for (int i = 0; i < mb.length; i++) {
            if (mb[i] < 0) throw new IllegalArgumentException("--budget-mb must be >= 0, got " + mb[i]);
            b[i] = mb[i] << 20;
        }
        return b;
    }

    private static long[] fractions(long total, double... f) {
        long[] b = new long[f.length];
        for (int i = 0; i < f.length; i++) b[i] = (long) (total * f[i]);
        return b;
    }
}
