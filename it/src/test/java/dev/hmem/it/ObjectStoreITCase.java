package dev.hmem.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.hmem.cli.Main;
import dev.hmem.cli.cluster.FlinkFileSystems;
import dev.hmem.cli.cluster.ObjectStore;
import dev.hmem.operators.memory.BankStores;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.bank.BlockId;
import dev.hmem.runtime.bank.CorruptBlockException;
import dev.hmem.runtime.bank.MemoryBank;
import dev.hmem.runtime.io.DType;
import dev.hmem.training.bank.RandomBank;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bank on a real S3-compatible store (S3Proxy, its own process on 127.0.0.1), read through Flink 2.2's plugin
 * class loader with the S3 plugin the local cluster ships: uploaded with `hmem bank upload`, every block read back
 * by ranged reads equal to the local file's, a damaged object found by its checksum and named, the rest still read.
 */
class ObjectStoreITCase {

    @TempDir
    static Path tmp;
    static ObjectStore store;
    static Path local;

    @BeforeAll
    static void start() throws Exception {
        store = ObjectStore.start(Path.of(System.getProperty("hmem.s3proxy.lib")), Files.createDirectories(tmp.resolve("s3")));
        store.createBucket("banks");
        store.createBucket("models");
        FlinkFileSystems.initialize(plugins(), store.flinkConfiguration());
        local = tmp.resolve("bank");
        RandomBank.create(local, new BankManifest.Anchor("s3-test", 16, 2), 4, 2, new int[] {8, 4}, 4, DType.BF16, false, 3);
    }

    static Path plugins() {
        return Path.of(System.getProperty("hmem.flinkHome")).resolve("plugins");
    }

    @AfterAll
    static void stop() throws Exception {
        if (store != null) store.close();
    }

    static String[] upload(String to, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("bank", "upload", "--bank", local.toString(), "--to", to));
        store.flinkConfiguration().forEach((k, v) -> a.addAll(List.of("-c", k + "=" + v)));
        a.addAll(List.of("--plugins", plugins().toString()));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void aBankUploadedToS3ReadsBackBlockForBlock() throws Exception {
        assertThat(Main.run(upload("s3://banks/demo", "--verify"))).isZero();
        try (MemoryBank remote = BankStores.open("s3://banks/demo"); MemoryBank near = MemoryBank.open(local);
             NDManager m = NDManager.newBaseManager()) {
            assertThat(remote.store().location()).startsWith("s3://");
            assertThat(remote.allBlocks()).hasSize(1 + 4 + 16);
            for (BlockId id : near.allBlocks()) {
                assertThat(remote.readVerified(id)).as("block %s", id).isEqualTo(near.readVerified(id));
            }
            assertThat(remote.load(BlockId.GENERIC, m).bytes()).isEqualTo(near.load(BlockId.GENERIC, m).bytes());
        }
    }

    @Test
    void aDamagedObjectIsNamedAndTheOtherBlocksStillRead() throws Exception {
        assertThat(Main.run(upload("s3://banks/damaged"))).isZero();
        Path level2 = store.dataDir().resolve("banks/damaged/level-2.safetensors");
        assertThat(level2).exists();
        BankManifest.Level l2;
        try (MemoryBank remote = BankStores.open("s3://banks/damaged")) {
            l2 = remote.manifest().level(2);
        }
        try (RandomAccessFile f = new RandomAccessFile(level2.toFile(), "rw")) {
            long at = l2.offsetOf(5) + 3;  // inside block 5 of level 2
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x40);
        }
        try (MemoryBank remote = BankStores.open("s3://banks/damaged")) {
            BlockId broken = new BlockId(dev.hmem.runtime.bank.MemoryPath.fromNodeIndex(5, 2, 4));
            assertThatThrownBy(() -> remote.readVerified(broken)).isInstanceOf(CorruptBlockException.class)
                    .hasMessageContaining("memory block " + broken).hasMessageContaining("is corrupt");
            int read = 0;
            for (BlockId id : remote.allBlocks()) {
                if (id.equals(broken)) continue;
                remote.readVerified(id);
                read++;
            }
            assertThat(read).isEqualTo(20);
        }
        assertThat(Main.run("bank", "upload", "--bank", tmp.resolve("nothing").toString(), "--to", "s3://banks/x")).isEqualTo(2);
        assertThatThrownBy(() -> BankStores.open("s3://banks/absent").close()).hasMessageContaining("s3://banks/absent");
    }

    @Test
    void aStoreThatGoesDownCostsAFallbackWithinSecondsAndServesAgainWhenBack() throws Exception {
        assertThat(Main.run(upload("s3://banks/outage"))).isZero();
        var loaders = java.util.concurrent.Executors.newFixedThreadPool(2);
        java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
        dev.hmem.operators.engine.EngineMetrics metrics = new dev.hmem.operators.engine.EngineMetrics() {
            @Override
            public void blockFailed(int level) {
                failed.incrementAndGet();
            }
        };
        try (MemoryBank remote = BankStores.open("s3://banks/outage");
             dev.hmem.operators.engine.BlockCache cache = new dev.hmem.operators.engine.BlockCache(remote, 1 << 20, 0, 300, loaders, metrics)) {
            List<BlockId> path = remote.blocksFor(dev.hmem.runtime.bank.MemoryPath.of(1, 2));
            release(cache.acquirePath(List.of(path.get(0))).join());  // level 1 cached before the outage
            store.kill();
            long t0 = System.nanoTime();
            var during = cache.acquirePath(path).get(60, java.util.concurrent.TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(during.fellBack()).isTrue();
            assertThat(during.blocks()).hasSize(1);  // the cached level 1 still serves: the healthy prefix
            assertThat(during.failed()).isEqualTo(path.get(1));
            assertThat(during.reason()).contains("127.0.0.1");
            assertThat(seconds).as("a read of a store that is down fails in bounded time").isLessThan(30);
            assertThat(failed.get()).isEqualTo(1);
            release(during);
            store.restart();
            Thread.sleep(400);  // past the quarantine
            var after = cache.acquirePath(path).get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(after.fellBack()).as(String.valueOf(after.reason())).isFalse();
            assertThat(after.blocks()).hasSize(2);
            release(after);
        } finally {
            if (!store.process().isAlive()) store.restart();
            loaders.shutdownNow();
        }
    }

    @Test
    void anAnchorOnS3IsCopiedOnceAndServesWithItsBankWithoutASharedVolume() throws Exception {
        Path model = dev.hmem.runtime.TestModels.tinyModel(Files.createDirectories(tmp.resolve("model")), 21);
        Files.writeString(Files.createDirectories(model.resolve("extra")).resolve("notes.md"), "kept with the model");
        Path bank = tmp.resolve("model-bank");
        BankManifest.Anchor identity;
        try (dev.hmem.runtime.anchor.Anchor a = dev.hmem.runtime.anchor.Anchor.load(model)) {
            dev.hmem.runtime.TestModels.smallBank(bank, a.weights(), false, 4);
            identity = a.weights().identity();
        }
        List<String> modelUp = new java.util.ArrayList<>(List.of(upload("s3://models/tiny", "--verify")));
        modelUp.set(0, "model");
        modelUp.set(modelUp.indexOf("--bank"), "--model");
        modelUp.set(modelUp.indexOf(local.toString()), model.toString());
        assertThat(Main.run(modelUp.toArray(new String[0]))).as("hmem model upload --verify").isZero();
        List<String> up = new java.util.ArrayList<>(List.of(upload("s3://banks/for-tiny")));
        up.set(up.indexOf(local.toString()), bank.toString());
        assertThat(Main.run(up.toArray(new String[0]))).isZero();
        Path cache = tmp.resolve("copies");
        Files.createDirectories(cache.resolve(".partial-tiny-killed"));  // a TaskManager killed mid-copy left this

        Path copy = dev.hmem.operators.memory.LocalCopies.of("s3://models/tiny", cache);
        assertThat(copy.getParent()).isEqualTo(cache);
        assertThat(tree(copy)).isEqualTo(tree(model));
        long copiedAt = Files.getLastModifiedTime(copy.resolve("config.json")).toMillis();
        Thread.sleep(20);
        assertThat(dev.hmem.operators.memory.LocalCopies.of("s3://models/tiny", cache)).as("found again, not copied").isEqualTo(copy);
        assertThat(Files.getLastModifiedTime(copy.resolve("config.json")).toMillis()).isEqualTo(copiedAt);

        // The job's own path: the anchor copied from s3://, the bank read from s3://, checked against each other.
        String old = System.setProperty(dev.hmem.operators.memory.LocalCopies.CACHE_DIR_PROPERTY, cache.toString());
        try (var served = dev.hmem.operators.memory.ServingModel.open(
                dev.hmem.operators.engine.ServingConfig.builder("s3://models/tiny", "s3://banks/for-tiny").build())) {
            assertThat(served.anchor().weights().identity()).isEqualTo(identity);
            assertThat(served.bank().store().location()).startsWith("s3://");
        } finally {
            if (old == null) System.clearProperty(dev.hmem.operators.memory.LocalCopies.CACHE_DIR_PROPERTY);
            else System.setProperty(dev.hmem.operators.memory.LocalCopies.CACHE_DIR_PROPERTY, old);
        }

        // A model replaced at the same location (here with a plain client, file by file) is copied afresh; the old copy
        // is left as it was.
        Files.writeString(model.resolve("extra/notes.md"), "a newer note, longer than the first");
        putTree(model, "s3://models/tiny");
        Path again = dev.hmem.operators.memory.LocalCopies.of("s3://models/tiny", cache);
        assertThat(again).isNotEqualTo(copy);
        assertThat(Files.readString(again.resolve("extra/notes.md"))).isEqualTo("a newer note, longer than the first");
        assertThat(Files.readString(copy.resolve("extra/notes.md"))).isEqualTo("kept with the model");
        try (var names = Files.list(cache)) {
            assertThat(names.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".partial")).toList())
                    .as("no partial copy of ours is left").containsExactly(".partial-tiny-killed");
        }
        assertThatThrownBy(() -> dev.hmem.operators.memory.LocalCopies.of("s3://models/absent", cache))
                .hasMessageContaining("s3://models/absent");
    }

    /** Every file under {@code dir}, relative path to contents. */
    static java.util.Map<String, String> tree(Path dir) throws Exception {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
        }
        return out;
    }

    /** Uploads every file under {@code dir} through Flink's S3 file system, as a user's own client would. */
    static void putTree(Path dir, String to) throws Exception {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                var target = new org.apache.flink.core.fs.Path(to + "/" + dir.relativize(p).toString().replace('\\', '/'));
                var fs = target.getFileSystem();
                try (var out = fs.create(target, org.apache.flink.core.fs.FileSystem.WriteMode.OVERWRITE)) {
                    Files.copy(p, out);
                }
            }
        }
    }

    static void release(dev.hmem.operators.engine.BlockCache.PathBlocks p) {
        for (var b : p.blocks()) b.release();
    }
}
