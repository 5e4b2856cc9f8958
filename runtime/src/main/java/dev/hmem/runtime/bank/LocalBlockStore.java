package dev.hmem.runtime.bank;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Bank files on a local disk, read with positional reads into buffers the caller owns: the OS page cache keeps hot
 * blocks in RAM and a cold one costs a read of its range, never of the whole file. Not memory-mapped: a mapped file
 * that is truncated or overwritten while it is read faults inside the read (SIGBUS), which takes the whole TaskManager
 * down; a positional read of a truncated file returns short and becomes an error for that block, and the bytes read
 * are the bytes the checksum is computed on and the tensor is made from (they cannot change in between).
 */
public final class LocalBlockStore implements BlockStore {

    private final Path dir;
    private final ConcurrentHashMap<String, FileChannel> channels = new ConcurrentHashMap<>();

    public LocalBlockStore(Path dir) {
        this.dir = dir;
    }

    private FileChannel channel(String file) throws IOException {
        FileChannel ch = channels.get(file);
        if (ch != null) return ch;
        Path p = dir.resolve(file);
        try {
            FileChannel opened = FileChannel.open(p, StandardOpenOption.READ);
            FileChannel prev = channels.putIfAbsent(file, opened);
            if (prev != null) {
                opened.close();
                return prev;
            }
            return opened;
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(p + " (bank file missing)");
        }
    }

    @Override
    public ByteBuffer read(String file, long offset, int length) throws IOException {
        FileChannel ch = channel(file);
        if (offset < 0 || offset + length > ch.size()) {
            throw new IOException(dir.resolve(file) + ": range [" + offset + ", " + (offset + length)
                    + ") beyond the file's " + ch.size() + " bytes (truncated bank file?)");
        }
        // Direct: the tensor is made from it without another copy.
        ByteBuffer buf = ByteBuffer.allocateDirect(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            int n = ch.read(buf, offset + buf.position());
            if (n < 0) {
                throw new IOException(dir.resolve(file) + ": ended at byte " + (offset + buf.position()) + " while reading ["
                        + offset + ", " + (offset + length) + ") (the file was truncated while the bank was open)");
            }
        }
        return buf.flip();
    }

    @Override
    public long size(String file) throws IOException {
        return channel(file).size();
    }

    @Override
    public boolean exists(String file) {
        return Files.exists(dir.resolve(file));
    }

    @Override
    public String location() {
        return dir.toString();
    }

    @Override
    public void close() throws IOException {
        for (FileChannel ch : channels.values()) ch.close();
        channels.clear();
    }
}
