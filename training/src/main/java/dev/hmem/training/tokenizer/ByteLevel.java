package dev.hmem.training.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level pre-tokenisation, as Hugging Face's {@code ByteLevel} pre-tokenizer does it:
 * split text with the GPT-2 pattern, then spell each piece's UTF-8 bytes with printable stand-in
 * characters so every string is representable and BPE never sees an unknown symbol.
 */
public final class ByteLevel {

    /** The split pattern of GPT-2 (and of Hugging Face's ByteLevel with use_regex=true). */
    static final Pattern SPLIT = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");

    private static final char[] BYTE_TO_CHAR = new char[256];

    static {
        // Printable Latin-1 bytes stand for themselves; the rest are shifted past 255.
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) direct[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) direct[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) direct[b] = true;
        int next = 0;
        for (int b = 0; b < 256; b++) {
            BYTE_TO_CHAR[b] = direct[b] ? (char) b : (char) (256 + next++);
        }
    }

    private ByteLevel() {}

    /** The stand-in character of byte {@code b} (0..255). */
    public static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** Pre-tokens of {@code text}, each spelled in stand-in characters. */
    public static List<String> pretokenize(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = SPLIT.matcher(text);
        while (m.find()) {
            byte[] bytes = m.group().getBytes(StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder(bytes.length);
            for (byte b : bytes) sb.append(charOf(b));
            out.add(sb.toString());
        }
        return out;
    }
}
