package dev.hmem.cli.demo;

import com.google.gson.Gson;
import com.google.gson.JsonParser;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.training.corpus.Corpus;
import dev.hmem.training.corpus.CorpusBuilder;
import dev.hmem.training.corpus.Fact;
import dev.hmem.training.train.TrainConfigs;
import dev.hmem.training.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The model the demo serves: trained by hmem itself with the {@code demo} configuration on first
 * use (a few minutes, progress printed) and cached in {@code ~/.cache/hmem/models/demo}; its
 * corpus supplies the sample questions.
 */
public record DemoModel(Path dir, Path model, Path bank, Corpus corpus, int[] exposures) {

    /** A question for the demo: a long-tail fact's probe and the answer it should produce. */
    public record Question(String prompt, String expected, int seen, int maxNewTokens) {}

    public static Path defaultDir() {
        return Path.of(System.getProperty("user.home"), ".cache", "hmem", "models", "demo");
    }

    public static DemoModel ensure(Path dir) throws IOException {
        Path model = dir.resolve("model"), bank = dir.resolve("bank");
        boolean built = Files.exists(dir.resolve("training.json")) && Files.exists(bank.resolve(BankManifest.FILE));
        // A model cached by an hmem from before subject articles has no subjects in its corpus; it
        // is retrained rather than served with facts routed one sentence at a time.
        boolean current = Files.exists(dir.resolve("corpus").resolve("subjects.jsonl"));
        if (built && !current) System.out.println("the cached demo model in " + dir + " is from an older hmem: retraining it");
        if (!built || !current) {
            System.out.println("building the demo model in " + dir + " (first run only; about 10 minutes on 2 cores)");
            try (Trainer t = new Trainer(TrainConfigs.demo(1), System.out)) {
                t.run(dir, CorpusBuilder.PROSE_DIR);
            }
        } else {
            System.out.println("demo model: " + dir + " (cached; delete it to retrain)");
        }
        int[] seen = new Gson().fromJson(JsonParser.parseString(Files.readString(dir.resolve("training.json")))
                .getAsJsonObject().get("exposures"), int[].class);
        return new DemoModel(dir, model, bank, Corpus.load(dir.resolve("corpus")), seen);
    }

    /**
     * {@code n} facts of the corpus, alternating between the long tail (seen at most 25 times in
     * training) and the rest, in a fixed pseudo-random order.
     */
    public List<Question> questions(int n) {
        List<Fact> tail = new ArrayList<>(), head = new ArrayList<>();
        for (Fact f : corpus.facts()) (exposures[f.id()] <= 25 ? tail : head).add(f);
        Random rnd = new Random(42);
        java.util.Collections.shuffle(tail, rnd);
        java.util.Collections.shuffle(head, rnd);
        List<Question> out = new ArrayList<>();
        for (int i = 0; out.size() < n && (i < tail.size() || i < head.size()); i++) {
            if (i < head.size()) out.add(question(head.get(i)));
            if (out.size() < n && i < tail.size()) out.add(question(tail.get(i)));
        }
        return out;
    }

    private Question question(Fact f) {
        return new Question(f.probe(), f.answer().trim(), exposures[f.id()], 6);
    }
}
