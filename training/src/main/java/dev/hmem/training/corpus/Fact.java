package dev.hmem.training.corpus;

/**
 * One long-tail fact: a relation between a subject and an answer, the sentences that state it,
 * and the probe that asks for it.
 *
 * @param id         stable index in the corpus
 * @param relation   e.g. "element_number"
 * @param subject    what the fact is about ("Xenon")
 * @param answer     the answer as it appears after the probe, with its leading space (" 54")
 * @param intro      the sentence that opens an article about the subject ("Xenon is a chemical
 *                   element."); facts with the same intro are about the same subject and share articles
 * @param sentences  ways of stating the fact (an article draws among them)
 * @param probe      prompt whose continuation is the answer ("The atomic number of Xenon is")
 * @param question   the same fact asked as a question, for the demo
 * @param details    other things an article about the subject says (not probed)
 */
public record Fact(int id, String relation, String subject, String answer, String intro, String[] sentences, String probe,
                   String question, String[] details) {

    public Fact withId(int newId) {
        return new Fact(newId, relation, subject, answer, intro, sentences, probe, question, details);
    }
}
