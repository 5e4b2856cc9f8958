package dev.hmem.cli;

import dev.hmem.operators.memory.BankStores;
import dev.hmem.runtime.bank.MemoryBank;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Copies a bank (or a model directory: any directory of files) to a Flink file system URI — {@code s3://} through the
 * same S3 plugin the cluster runs — so TaskManagers read it without a shared volume. The manifest goes last, so a
 * reader never sees a manifest whose blocks are still on their way; with {@code --verify} the copy is opened from its
 * URI and every block's checksum is checked by ranged reads, as the job will read it.
 */
@Command(name = "upload", mixinStandardHelpOptions = true,
        description = {"Copy a bank (or model) directory to any Flink file system URI, e.g. s3://bucket/banks/demo.",
                "S3 settings as Flink's (-c s3.endpoint=..., -c s3.access-key=..., -c s3.secret-key=...)."})
final class BankUpload implements Callable<Integer> {

    @Option(names = "--bank", required = true, description = "the local directory to copy") Path dir;
    @Mixin UploadTarget target;
    @Option(names = "--verify", description = "open the copy from its URI and check every block's checksum") boolean verify;

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + " is not a directory");
        target.copy(dir);
        if (!verify) return 0;
        try (MemoryBank b = BankStores.open(target.to)) {
            return BankCommand.verifyBlocks(b, " at " + target.to, "");
        }
    }
}
