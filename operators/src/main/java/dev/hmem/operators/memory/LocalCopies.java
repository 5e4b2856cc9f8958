package dev.hmem.operators.memory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model directory (anchor weights, config, tokenizer) on any Flink file system, as a local directory: a local path
 * is used where it is, anything else ({@code s3://}, {@code hdfs://}) is copied once into a cache directory on this
 * machine, so a cluster needs no volume shared by its TaskManagers. The anchor is read whole, unlike a bank's blocks,
 * which stay remote and are fetched one ranged read at a time ({@link BankStores}).
 *
 * <p>A copy is named by the location and the listing it was made from (every file's path, length and modification
 * time), so a model replaced at the same location is copied afresh rather than served stale, and an unchanged one is
 * found again after a restart. A copy is written into a hidden directory and renamed into place in one step, so a
 * TaskManager killed mid-copy leaves no directory that looks complete, and two TaskManagers on one machine that copy
 * at once both end with the one that was renamed first. Subtasks of one JVM wait for each other instead of copying
 * twice.
 */
public final class LocalCopies {

    private static final Logger LOG = LoggerFactory.getLogger(LocalCopies.class);

    /** Where copies go unless {@code -Dhmem.localCacheDir} says otherwise: the JVM's temporary directory. */
    public static final String CACHE_DIR_PROPERTY = "hmem.localCacheDir";

    private static final ConcurrentHashMap<Path, Object> LOCKS = new ConcurrentHashMap<>();

    private LocalCopies() {}

    /** {@code location} as a local directory, copied into the default cache directory when it is remote. */
    public static Path of(String location) throws IOException {
        if (Locations.isLocal(location)) return Locations.localPath(location);
        return of(location, cacheRoot());
    }

    /** {@code location} as a local directory, copied under {@code cacheRoot} when it is remote. */
    public static Path of(String location, Path cacheRoot) throws IOException {
        if (Locations.isLocal(location)) return Locations.localPath(location);
        org.apache.flink.core.fs.Path root = new org.apache.flink.core.fs.Path(location);
        FileSystem fs = root.getFileSystem();
        List<Remote> files = new ArrayList<>();
        try {
            list(fs, root, "", files, location);
        } catch (java.io.FileNotFoundException e) {
            throw new IOException("no model directory at " + location + ": " + e.getMessage(), e);
        }
        if (files.stream().noneMatch(f -> f.relative.equals("config.json"))) {
            // Uploads put config.json last (hmem model upload), so a model still on its way has none yet.
            throw new IOException("no model at " + location + ": no config.json among its " + files.size()
                    + " files (still being uploaded?)");
        }
        files.sort(Comparator.comparing(Remote::relative));
        Path target = cacheRoot.resolve(name(root) + "-" + fingerprint(location, files));
        synchronized (LOCKS.computeIfAbsent(target, k -> new Object())) {
            if (Files.isDirectory(target)) return target;  // only a finished copy is ever renamed to this name
            Files.createDirectories(cacheRoot);
            long t0 = System.nanoTime(), bytes = 0;
            Path partial = Files.createTempDirectory(cacheRoot, ".partial-" + target.getFileName() + "-");
            try {
                for (Remote f : files) {
                    Path to = partial.resolve(f.relative).normalize();
                    if (!to.startsWith(partial)) throw new IOException("unsafe file name '" + f.relative + "' under " + location);
                    Files.createDirectories(to.getParent());
                    long n;
                    try (InputStream in = fs.open(f.status.getPath())) {
                        n = Files.copy(in, to);
                    }
                    if (n != f.status.getLen()) {
                        throw new IOException("copying " + f.status.getPath() + ": read " + n + " bytes, the listing says "
                                + f.status.getLen() + " (replaced while it was copied?)");
                    }
                    bytes += n;
                }
                try {
                    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException another) {
                    LOG.info("{} was copied to {} by another process meanwhile; using that copy", location, target);
                }
            } finally {
                deleteTree(partial);  // gone already when it was renamed
            }
            LOG.info("copied {} ({} files, {} MB) to {} in {} ms", location, files.size(), bytes >> 20, target,
                    (System.nanoTime() - t0) / 1_000_000);
            return target;
        }
    }

    /** The cache directory: {@code -Dhmem.localCacheDir}, else {@code hmem-copies} in the JVM's temporary directory. */
    public static Path cacheRoot() {
        String dir = System.getProperty(CACHE_DIR_PROPERTY);
        return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("java.io.tmpdir"), "hmem-copies");
    }

    private record Remote(String relative, FileStatus status) {}

    private static void list(FileSystem fs, org.apache.flink.core.fs.Path dir, String prefix, List<Remote> out, String location)
            throws IOException {
        FileStatus[] children = fs.listStatus(dir);
        if (children == null) throw new IOException("no directory at " + location);
        for (FileStatus s : children) {
            String name = s.getPath().getName();
            // Hidden files are an uploader's leftovers (partial uploads, ".crc" sums), not part of the model.
            if (name.startsWith(".")) continue;
            if (s.isDir()) list(fs, s.getPath(), prefix + name + "/", out, location);
            else out.add(new Remote(prefix + name, s));
        }
    }

    private static String name(org.apache.flink.core.fs.Path root) {
        String n = root.getName().replaceAll("[^A-Za-z0-9._-]", "_");
        return n.isEmpty() || n.startsWith(".") ? "model" : n;
    }

    private static String fingerprint(String location, List<Remote> files) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(location.getBytes(StandardCharsets.UTF_8));
            for (Remote f : files) {
                sha.update(("\n" + f.relative + "\t" + f.status.getLen() + "\t" + f.status.getModificationTime())
                        .getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);  // every JVM has SHA-256
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
