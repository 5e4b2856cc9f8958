package dev.hmem.runtime.bank;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where a bank's files live. A block is one contiguous byte range, so every read is a single
 * positioned read: a read of a local file's range ({@link LocalBlockStore}) or a ranged GET
 * from an object store. Implementations must be safe for concurrent reads.
 */
public interface BlockStore extends AutoCloseable {

    /**
     * {@code length} bytes of {@code file} starting at {@code offset}, little-endian, in a buffer the caller owns:
     * never a view of the file (a mapping), whose bytes could change between the checksum and their use, or fault
     * when the file is truncated underneath.
     */
    ByteBuffer read(String file, long offset, int length) throws IOException;

    /** Size of {@code file} in bytes. */
    long size(String file) throws IOException;

    /** Whole small file (manifest, tree). */
    default ByteBuffer readAll(String file) throws IOException {
        return read(file, 0, Math.toIntExact(size(file)));
    }

    boolean exists(String file) throws IOException;

    /** Where the store points, for messages ("/data/bank", "s3://bucket/bank"). */
    String location();

    @Override
    default void close() throws IOException {}
}
