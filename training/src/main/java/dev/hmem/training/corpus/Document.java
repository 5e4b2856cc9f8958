package dev.hmem.training.corpus;

/**
 * A training document: an article about one subject stating its facts ({@code subject} ≥ 0,
 * {@code factIds} the facts it states), or a paragraph of general prose ({@code subject} = -1).
 */
public record Document(String text, int subject, int[] factIds) {

    public boolean isFact() {
        return subject >= 0;
    }
}
