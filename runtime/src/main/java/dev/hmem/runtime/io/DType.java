package dev.hmem.runtime.io;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Locale;

/**
 * Element types of safetensors files that hmem reads and writes. Floating point weights of any of
 * F32, BF16 and F16 are widened to f32 on load because all compute runs in f32.
 */
public enum DType {
    F32(4),
    BF16(2),
    F16(2),
    I32(4),
    I64(8);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloat() {
        return this == F32 || this == BF16 || this == F16;
    }

    /** Parses a safetensors dtype name ("F32") or a user spelling ("bf16", "float16"). */
    public static DType parse(String name) {
        String n = name.trim().toUpperCase(Locale.ROOT);
        switch (n) {
            case "F32": case "FLOAT32": case "FLOAT": return F32;
            case "BF16": case "BFLOAT16": return BF16;
            case "F16": case "FLOAT16": case "HALF": return F16;
            case "I32": case "INT32": return I32;
            case "I64": case "INT64": return I64;
            default:
                throw new IllegalArgumentException(
                        "unsupported dtype '" + name + "' (supported: F32, BF16, F16, I32, I64)");
        }
    }

    /**
     * Decodes {@code count} little-endian floats of this type from {@code src} (position advanced)
     * into {@code dst}.
     */
    public void decodeFloats(ByteBuffer src, FloatBuffer dst, long count) {
        ByteBuffer le = src.order(java.nio.ByteOrder.LITTLE_ENDIAN);
        switch (this) {
            case F32: {
                // bulk copy: the common case for weights saved by hmem
                FloatBuffer view = le.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                view.limit(Math.toIntExact(count));
                dst.put(view);
                le.position(le.position() + Math.toIntExact(count * 4));
                break;
            }
            case BF16:
                for (long i = 0; i < count; i++) dst.put(Float.intBitsToFloat((le.getShort() & 0xffff) << 16));
                break;
            case F16:
                for (long i = 0; i < count; i++) dst.put(halfToFloat(le.getShort()));
                break;
            default:
                throw new IllegalStateException(this + " is not a floating point type");
        }
    }

    /** Encodes floats of {@code src} as this type into {@code dst} (little-endian). */
    public void encodeFloats(FloatBuffer src, ByteBuffer dst) {
        ByteBuffer le = dst.order(java.nio.ByteOrder.LITTLE_ENDIAN);
        switch (this) {
            case F32:
                while (src.hasRemaining()) le.putFloat(src.get());
                break;
            case BF16:
                while (src.hasRemaining()) le.putShort(floatToBf16(src.get()));
                break;
            case F16:
                while (src.hasRemaining()) le.putShort(floatToHalf(src.get()));
                break;
            default:
                throw new IllegalStateException(this + " is not a floating point type");
        }
    }

    /** Round-to-nearest-even truncation of an f32 to bfloat16, NaN kept a (quiet) NaN. */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) {
            if (mant == 0) return Float.intBitsToFloat(sign);
            // subnormal half: value = mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) return (short) sign;
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) half++;
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) half++;
        return (short) (sign | half);
    }
}
