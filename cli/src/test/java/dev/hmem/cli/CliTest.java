package dev.hmem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.hmem.runtime.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line on a tiny model: what a user types, what they get back. */
class CliTest {

    @TempDir
    static Path tmp;
    static Path model;
    static Path bank;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int code = new picocli.CommandLine(new Main()).setExecutionExceptionHandler((ex, line, parsed) -> {
                System.err.println("hmem: " + Main.describe(ex));
                return 2;
            }).execute(args);
            return new Run(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        model = TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 5);
        bank = tmp.resolve("bank");
        Run r = run("bank", "create-random", "--model", model.toString(), "--out", bank.toString(), "--branching", "4",
                "--depth", "2", "--neurons", "8,4", "--generic", "4");
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void generateWithAForcedPathPrintsJson() {
        Run r = run("generate", "--model", model.toString(), "--bank", bank.toString(), "-p", "Paris is",
                "--memory-path", "2.1", "--max-new-tokens", "5", "--ignore-eos", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        assertThat(j.get("memory_path").getAsString()).isEqualTo("2.1");
        assertThat(j.getAsJsonArray("tokens")).hasSize(5);
        assertThat(j.get("finish_reason").getAsString()).isEqualTo("length");
        assertThat(j.getAsJsonObject("timings").has("time_to_first_token_ms")).isTrue();
    }

    @Test
    void repeatedTokensAreABatchOfPrompts() {
        Run r = run("generate", "--model", model.toString(), "--bank", bank.toString(), "--tokens", "5,6,7", "--tokens", "8, 9",
                "--max-new-tokens", "4", "--ignore-eos", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        var a = JsonParser.parseString(r.out()).getAsJsonArray();
        assertThat(a).hasSize(2);
        assertThat(a.get(0).getAsJsonObject().get("prompt_tokens").getAsInt()).isEqualTo(3);
        assertThat(a.get(1).getAsJsonObject().get("prompt_tokens").getAsInt()).isEqualTo(2);
        for (var e : a) assertThat(e.getAsJsonObject().getAsJsonArray("tokens")).hasSize(4);
        Run bad = run("generate", "--model", model.toString(), "--tokens", "5,x");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("'x' is not a token id");
        Run out = run("generate", "--model", model.toString(), "--tokens", "5,99999999");
        assertThat(out.code()).isEqualTo(2);
        assertThat(out.err()).contains("token id 99999999 outside the vocabulary");
    }

    @Test
    void badInputGivesAClearErrorAndExitCode() {
        Run r = run("generate", "--model", model.toString(), "--bank", bank.toString(), "-p", "x", "--memory-path", "9.9");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("memory path 9.9 is not in the tree");
        Run t = run("generate", "--model", model.toString(), "-p", "x", "--temperature", "-3");
        assertThat(t.code()).isEqualTo(2);
        assertThat(t.err()).contains("temperature must be in [0, 100], got -3.0");
        Run m = run("generate", "--model", tmp.resolve("nothing").toString(), "-p", "x");
        assertThat(m.err()).contains("has no config.json");
    }

    @Test
    void sizePredictsPerLevelAndFindsTheCacheForATarget() {
        Run r = run("size", "--branching", "4", "--neurons", "8,4,2", "--hidden", "8", "--layers", "1", "--zipf", "1.0",
                "--subtasks", "2", "--target-hit", "0.8");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("k=4, 3 levels, 64 leaves").contains("| L2 aware | L2 round-robin | L3 aware | L3 round-robin |")
                .contains("Cache for a 80% hit rate at level 3").contains("| 100% | 100.0% | 100.0% | 100.0% | 100.0% |");
        Run bad = run("size", "--pinned-levels", "3");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--pinned-levels must be in [0, 2], got 3");
        Run fromBank = run("size", "--bank", bank.toString(), "--budget-mb", "0");
        assertThat(fromBank.code()).as(fromBank.err()).isZero();
        assertThat(fromBank.out()).contains("k=4, 2 levels, 16 leaves");
    }

    @Test
    void aBaselineRefusesTheMemoriesOptimizerOptions() {
        for (String kind : new String[] {"--dense", "--widened"}) {
            Run r = run("train", "--config", "micro", kind, "--memory-run", tmp.resolve("nothing").toString(), "--lr-memory", "1e-2",
                    "--out", tmp.resolve("never").toString());
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).contains("--lr-memory and --wd-memory are for memory runs");
        }
        assertThat(Files.exists(tmp.resolve("never"))).isFalse();
    }

    @Test
    void verifyFindsAFlippedByteAndInspectDescribesTheBank() throws Exception {
        assertThat(run("bank", "verify", "--bank", bank.toString(), "--model", model.toString()).out())
                .contains("OK: 21 blocks verified, anchor matches");
        assertThat(run("bank", "inspect", "--bank", bank.toString()).out()).contains("k=4, depth 2").contains("level-2.safetensors");
        Path copy = tmp.resolve("corrupt-bank");
        Files.createDirectories(copy);
        try (var files = Files.list(bank)) {
            for (Path f : files.toList()) Files.copy(f, copy.resolve(f.getFileName()));
        }
        try (RandomAccessFile raf = new RandomAccessFile(copy.resolve("level-2.safetensors").toFile(), "rw")) {
            raf.seek(raf.length() - 10);
            raf.write(0x5a);
        }
        Run v = run("bank", "verify", "--bank", copy.toString());
        assertThat(v.code()).isEqualTo(1);
        assertThat(v.out()).contains("memory block 3.3").contains("1 of 21 blocks are corrupt");
    }
}
