package dev.hmem.operators.memory;

import dev.hmem.runtime.bank.BlockStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * A bank on any file system Flink can reach (s3://, hdfs://, file://): each block is one seek and
 * one read of its byte range, which object-store file systems turn into a ranged GET. Streams are
 * opened per read so concurrent loaders never share a position.
 */
public final class FlinkFileSystemBlockStore implements BlockStore {

    private final Path base;

    public FlinkFileSystemBlockStore(String uri) {
        this.base = new Path(uri);
    }

    private Path file(String name) {
        return new Path(base, name);
    }

    @Override
    public ByteBuffer read(String name, long offset, int length) throws IOException {
        Path p = file(name);
        FileSystem fs = p.getFileSystem();
        byte[] buf = new byte[length];
        try (FSDataInputStream in = fs.open(p)) {
            in.seek(offset);
            int done = 0;
            while (done < length) {
                int n = in.read(buf, done, length - done);
                if (n < 0) {
                    throw new IOException(p + ": range [" + offset + ", " + (offset + length) + ") beyond end of file");
                }
                done += n;
            }
        }
        return ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public long size(String name) throws IOException {
        Path p = file(name);
        return p.getFileSystem().getFileStatus(p).getLen();
    }

    @Override
    public boolean exists(String name) throws IOException {
        Path p = file(name);
        return p.getFileSystem().exists(p);
    }

    @Override
    public String location() {
        return base.toString();
    }
}
