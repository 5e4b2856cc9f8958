package dev.hmem.training.eval;

/**
 * Which fact probes and held-out paragraphs an evaluation reads. Design choices (clustering,
 * balancing, a baseline's schedule) are made on {@link #DEV}; reported tables come from
 * {@link #TEST}, which no choice has looked at. Even ids are dev, odd ids test: fact ids follow
 * the fact tables' order while popularity is a seeded random permutation of subjects
 * (CorpusBuilder), so parity is independent of how often a fact was seen, and the split is the
 * same for every run of a corpus — memory runs and baselines are scored on the same probes.
 */
public enum EvalSplit {
    ALL, DEV, TEST;

    /** Whether item {@code id} (a fact id, or a held-out paragraph's index) belongs to this split. */
    public boolean has(int id) {
        return switch (this) {
            case ALL -> true;
            case DEV -> (id & 1) == 0;
            case TEST -> (id & 1) == 1;
        };
    }

    public static EvalSplit parse(String s) {
        try {
            return valueOf(s.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("split must be all, dev or test, got '" + s + "'");
        }
    }
}
