package dev.hmem.operators.codec;

import org.apache.avro.Schema;

/**
 * Walks an Avro binary body against its writer schema before Avro decodes it, and refuses it
 * unless every length, count and union index it declares fits in the record's own bytes. Avro's
 * decoder trusts those numbers: a 19-byte record claiming a two-billion-entry array makes it
 * allocate gigabytes (or throw an exception type no caller expects) before it notices the bytes
 * are missing. Avro's own limits ({@code org.apache.avro.limits.*}) are process-wide constants, so
 * they cannot follow each record's size; this check does. After it passes, decoding allocates at
 * most a small multiple of the record: every string and byte array is backed by its bytes, and every
 * collection entry by at least one byte — or, for entries that encode as nothing (an array of
 * nulls), by a budget of the record's length in entries, shared by the whole record.
 */
final class AvroBounds {

    /** Nesting a writer schema may reach in one record (only recursive schemas get near it). */
    static final int MAX_DEPTH = 64;

    private final String name;
    private final byte[] buf;
    private int pos;
    private long emptyItemBudget;

    private AvroBounds(String name, byte[] buf, int offset) {
        this.name = name;
        this.buf = buf;
        this.pos = offset;
        this.emptyItemBudget = buf.length;
    }

    /** Checks the body at {@code buf[offset..]}; it must be exactly one datum of {@code schema}. */
    static void check(Schema schema, byte[] buf, int offset) throws InvalidRecordException {
        AvroBounds b = new AvroBounds(schema.getName(), buf, offset);
        b.datum(schema, "", 0);
        if (b.pos != buf.length) {
            throw new InvalidRecordException("malformed " + schema.getName() + " body: " + (buf.length - b.pos)
                    + " bytes left over after the record (wrong schema, or two records in one message?)");
        }
    }

    private InvalidRecordException bad(String where, String what) {
        return new InvalidRecordException("malformed " + name + " body at byte " + pos + (where.isEmpty() ? "" : " (" + where + ")")
                + ": " + what);
    }

    private int remaining() {
        return buf.length - pos;
    }

    private void datum(Schema s, String where, int depth) throws InvalidRecordException {
        if (depth > MAX_DEPTH) throw bad(where, "nested deeper than " + MAX_DEPTH + " levels");
        switch (s.getType()) {
            case NULL -> { }
            case BOOLEAN -> take(1, where);
            case INT, ENUM -> {
                long v = varint(5, where);
                if (s.getType() == Schema.Type.ENUM && (v < 0 || v >= s.getEnumSymbols().size())) {
                    throw bad(where, "enum index " + v + " outside [0, " + s.getEnumSymbols().size() + ")");
                }
            }
            case LONG -> varint(10, where);
            case FLOAT -> take(4, where);
            case DOUBLE -> take(8, where);
            case FIXED -> take(s.getFixedSize(), where);
            case STRING, BYTES -> {
                long n = varint(10, where);
                if (n < 0 || n > remaining()) {
                    throw bad(where, "length " + n + " but " + remaining() + " bytes remain");
                }
                pos += (int) n;
            }
            case ARRAY -> blocks(s.getElementType(), null, where, depth);
            case MAP -> blocks(s.getValueType(), Schema.create(Schema.Type.STRING), where, depth);
            case UNION -> {
                long i = varint(10, where);
                if (i < 0 || i >= s.getTypes().size()) {
                    throw bad(where, "union index " + i + " outside [0, " + s.getTypes().size() + ")");
                }
                datum(s.getTypes().get((int) i), where, depth + 1);
            }
            case RECORD -> {
                for (Schema.Field f : s.getFields()) {
                    datum(f.schema(), where.isEmpty() ? f.name() : where + "." + f.name(), depth + 1);
                }
            }
            default -> throw bad(where, "unsupported type " + s.getType());
        }
    }

    /** An array's or map's blocks: a count (negative: followed by the block's byte size), then the items. */
    private void blocks(Schema item, Schema key, String where, int depth) throws InvalidRecordException {
        int minItem = minBytes(item, 0) + (key == null ? 0 : 1);
        while (true) {
            long count = varint(10, where);
            if (count == 0) return;
            if (count == Long.MIN_VALUE) throw bad(where, "block count " + count);
            long blockEnd = -1;
            if (count < 0) {
                count = -count;
                long size = varint(10, where);
                if (size < 0 || size > remaining()) {
                    throw bad(where, "block of " + size + " bytes but " + remaining() + " bytes remain");
                }
                blockEnd = pos + size;
            }
            if (minItem > 0) {
                if (count > remaining() / minItem) {
                    throw bad(where, count + " entries of at least " + minItem + " bytes each but " + remaining()
                            + " bytes remain");
                }
            } else {
                if (count > emptyItemBudget) {
                    throw bad(where, count + " empty entries, more than the record's " + buf.length + " bytes allow");
                }
                emptyItemBudget -= count;
            }
            for (long i = 0; i < count; i++) {
                if (key != null) datum(key, where, depth + 1);
                datum(item, where, depth + 1);
            }
            // Avro skips a sized block by its size, decodes it by its items: both must agree, or
            // a skipping reader would go on reading bytes this check never saw.
            if (blockEnd >= 0 && pos != blockEnd) {
                throw bad(where, "block size does not match its entries (ends at byte " + blockEnd + ")");
            }
        }
    }

    /** The fewest bytes a datum of {@code s} encodes to. */
    static int minBytes(Schema s, int depth) {
        if (depth > MAX_DEPTH) return 0;
        return switch (s.getType()) {
            case NULL -> 0;
            case BOOLEAN, INT, LONG, ENUM, STRING, BYTES, ARRAY, MAP, UNION -> 1;
            case FLOAT -> 4;
            case DOUBLE -> 8;
            case FIXED -> s.getFixedSize();
            case RECORD -> {
                int n = 0;
                for (Schema.Field f : s.getFields()) n += minBytes(f.schema(), depth + 1);
                yield n;
            }
        };
    }

    private void take(int n, String where) throws InvalidRecordException {
        if (n > remaining()) throw bad(where, "needs " + n + " bytes but " + remaining() + " remain");
        pos += n;
    }

    /** A zig-zag varint of at most {@code maxBytes} bytes, decoded. */
    private long varint(int maxBytes, String where) throws InvalidRecordException {
        long raw = 0;
        for (int i = 0; i < maxBytes; i++) {
            if (pos >= buf.length) throw bad(where, "record ends inside a number");
            int b = buf[pos++] & 0xff;
            raw |= (long) (b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0) return (raw >>> 1) ^ -(raw & 1);
        }
        throw bad(where, "number longer than " + maxBytes + " bytes");
    }
}
