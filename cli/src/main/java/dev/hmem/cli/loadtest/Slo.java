package dev.hmem.cli.loadtest;

import java.util.Locale;

/**
 * A latency target a request must meet to count towards goodput, as vLLM's and GuideLLM's
 * benchmarks define it: time to first token, time per output token and end-to-end latency, each
 * optional. Parsed from {@code ttft=500,tpot=50,e2e=5000} (milliseconds).
 */
public record Slo(double ttftMs, double tpotMs, double e2eMs) {

    public static final Slo NONE = new Slo(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY);

    public static Slo parse(String spec) {
        if (spec == null || spec.isBlank()) return NONE;
        double ttft = Double.POSITIVE_INFINITY, tpot = Double.POSITIVE_INFINITY, e2e = Double.POSITIVE_INFINITY;
        for (String part : spec.split(",")) {
            String[] kv = part.trim().split("=");
            if (kv.length != 2) throw new IllegalArgumentException("--slo takes ttft=MS,tpot=MS,e2e=MS, got '" + part + "'");
            double v;
            try {
                v = Double.parseDouble(kv[1].trim().replace("ms", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--slo: '" + kv[1] + "' is not a number of milliseconds");
            }
            if (!(v > 0)) throw new IllegalArgumentException("--slo: " + kv[0] + " must be positive, got " + v);
            switch (kv[0].trim().toLowerCase(Locale.ROOT)) {
                case "ttft" -> ttft = v;
                case "tpot" -> tpot = v;
                case "e2e" -> e2e = v;
                default -> throw new IllegalArgumentException("--slo knows ttft, tpot and e2e, not '" + kv[0] + "'");
            }
        }
        return new Slo(ttft, tpot, e2e);
    }

    public boolean met(RequestOutcome r) {
        return r.ok() && r.ttftMs() <= ttftMs && (Double.isNaN(r.tpotMs()) || r.tpotMs() <= tpotMs) && r.e2eMs() <= e2eMs;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (ttftMs < Double.POSITIVE_INFINITY) sb.append("TTFT ≤ ").append(fmt(ttftMs)).append(" ms");
        if (tpotMs < Double.POSITIVE_INFINITY) sb.append(sb.length() > 0 ? ", " : "").append("TPOT ≤ ").append(fmt(tpotMs)).append(" ms");
        if (e2eMs < Double.POSITIVE_INFINITY) sb.append(sb.length() > 0 ? ", " : "").append("end-to-end ≤ ").append(fmt(e2eMs)).append(" ms");
        return sb.length() == 0 ? "none" : sb.toString();
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
