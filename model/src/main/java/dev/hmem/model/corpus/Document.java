package dev.hmem.model.corpus;

/**
 * A training document: a sentence stating a fact (factId ≥ 0) or a paragraph of general prose
 * (factId = -1).
 */
public record Document(String text, int factId) {

    public boolean isFact() {
        return factId >= 0;
    }
}
