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
 * Bank files on a local disk, each read memory-mapped: the OS page cache keeps hot blocks in RAM
 * and cold ones cost a page-in, never a full-file read.
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
        return ch.map(FileChannel.MapMode.READ_ONLY, offset, length).order(ByteOrder.LITTLE_ENDIAN);
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
