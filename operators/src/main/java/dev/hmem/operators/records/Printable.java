package dev.hmem.operators.records;

/**
 * Text from clients as it may appear in logs: request ids and the like are the client's, and a newline or a bidi
 * override in one forges or reorders a log line. Ids with such characters are refused at validation; anything
 * client-given that is logged goes through {@link #escape}.
 */
public final class Printable {

    private Printable() {}

    /** Index of the first control, line/paragraph separator or direction-override character, or -1. */
    public static int firstControl(String s) {
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (isControl(cp)) return i;
            i += Character.charCount(cp);
        }
        return -1;
    }

    static boolean isControl(int cp) {
        int type = Character.getType(cp);
        if (type == Character.CONTROL || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR) return true;
        // Bidi marks, embeddings, overrides and isolates (other format characters, such as the joiners of emoji
        // sequences, are harmless).
        return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
    }

    /** {@code s} with every such character written as {@code \\uXXXX}; null as "null". */
    public static String escape(String s) {
        if (s == null) return "null";
        if (firstControl(s) < 0) return s;
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (isControl(cp)) sb.append(String.format("\\u%04X", cp));
            else sb.appendCodePoint(cp);
            i += Character.charCount(cp);
        }
        return sb.toString();
    }
}
