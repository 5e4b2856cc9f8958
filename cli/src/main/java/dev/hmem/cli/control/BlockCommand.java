package dev.hmem.cli.control;

import dev.hmem.operators.control.ControlCommand;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "block", mixinStandardHelpOptions = true,
        description = {"Stop using memories in a running job: prompts routed into a blocked subtree are answered with the",
                "deepest unblocked prefix of their path (the anchor alone when the first level is blocked), their",
                "results say what was blocked, and the blocked blocks leave every cache. --unblock undoes it.",
                "The block list survives restarts, rescales and savepoints."})
public final class BlockCommand implements Callable<Integer> {

    @Mixin
    ControlTarget target;
    @Option(names = "--path", required = true, split = ",", paramLabel = "PATH", description = "subtrees by their root's path (3, 3.11) or 'generic' (repeatable, comma-separated)")
    List<String> paths;
    @Option(names = "--unblock", description = "unblock the paths instead")
    boolean unblock;

    @Override
    public Integer call() throws Exception {
        ControlCommand.Kind kind = unblock ? ControlCommand.Kind.UNBLOCK : ControlCommand.Kind.BLOCK;
        String id = kind.wireName() + "-" + UUID.randomUUID();
        return target.run(ControlCommand.block(0, id, kind, paths), Duration.ofSeconds(target.timeoutSeconds));
    }
}
