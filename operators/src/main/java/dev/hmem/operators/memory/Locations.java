package dev.hmem.operators.memory;

import java.net.URI;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Whether a model or bank location is a path on this machine or a URI for one of Flink's file systems. A plain path
 * may hold anything a file name can (spaces, '#', '%', a colon), which {@link URI#create} refuses or misreads, so a
 * location is a URI only when it starts with a scheme (RFC 3986: a letter, then letters, digits, '+', '-' or '.')
 * longer than one letter (a Windows drive is not a scheme).
 */
public final class Locations {

    private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]+:.*", Pattern.DOTALL);

    private Locations() {}

    /** A plain path or a {@code file:} URI. */
    public static boolean isLocal(String location) {
        if (!SCHEME.matcher(location).matches()) return true;
        return location.regionMatches(true, 0, "file:", 0, 5);
    }

    /** The local path of a location that {@link #isLocal is local}. */
    public static Path localPath(String location) {
        if (!isLocal(location)) throw new IllegalArgumentException(location + " is not on this machine's file system");
        return location.regionMatches(true, 0, "file:", 0, 5) ? Path.of(URI.create(location)) : Path.of(location);
    }
}
