package dev.hmem.cli;

import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.bank.MemoryPath;
import dev.hmem.runtime.router.MiniLmEmbedder;
import dev.hmem.runtime.router.Router;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prints the memory path the router picks for each prompt. */
@Command(name = "route", mixinStandardHelpOptions = true, description = "Print the memory path of each prompt.")
final class RouteCommand implements Callable<Integer> {
    @Option(names = "--bank", required = true) Path bank;
    @Option(names = {"-p", "--prompt"}, required = true, description = "prompt (repeatable)") List<String> prompts;

    @Override
    public Integer call() throws Exception {
        try (MemoryBank b = MemoryBank.open(bank); Router r = new Router(MiniLmEmbedder.load(0), b.tree())) {
            List<MemoryPath> paths = r.route(prompts);
            for (int i = 0; i < prompts.size(); i++) System.out.println(paths.get(i) + "\t" + prompts.get(i));
        }
        return 0;
    }
}
