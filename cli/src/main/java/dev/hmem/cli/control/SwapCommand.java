package dev.hmem.cli.control;

import dev.hmem.operators.control.ControlCommand;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "swap", mixinStandardHelpOptions = true,
        description = {"Serve a new bank (and optionally a new anchor) in a running job without a restart: every routing and",
                "generating subtask loads and checks it in the background, routing switches to it, and each prompt is",
                "answered by the version it was routed with. Waits until every subtask has reported; exit 0 when all",
                "accepted it, 1 when any refused it (the old version keeps serving), 2 on a timeout."})
public final class SwapCommand implements Callable<Integer> {

    @Mixin
    ControlTarget target;
    @Option(names = "--bank", required = true, paramLabel = "URI", description = "the new bank (local path or Flink file system URI), readable from every TaskManager")
    String bank;
    @Option(names = "--anchor", paramLabel = "DIR", description = "a new anchor directory (default: keep the serving version's)")
    String anchor;
    @Option(names = "--version", required = true, paramLabel = "LABEL", description = "the label results answered by it carry (served_version)")
    String version;

    @Override
    public Integer call() throws Exception {
        String id = "swap-" + UUID.randomUUID();
        return target.run(ControlCommand.activate(0, id, version, bank, anchor), Duration.ofSeconds(target.timeoutSeconds));
    }
}
