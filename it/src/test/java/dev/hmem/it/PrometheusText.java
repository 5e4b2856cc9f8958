package dev.hmem.it;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reading Prometheus' text exposition format: samples summed by name, label values, quantiles. */
final class PrometheusText {

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)})?\\s+(\\S+)");

    private PrometheusText() {}

    /** Samples of metrics whose name starts with {@code prefix}, summed per name without the prefix (summaries' quantile lines left out). */
    static Map<String, Double> sum(String text, String prefix) {
        Map<String, Double> out = new HashMap<>();
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!m.find() || !m.group(1).startsWith(prefix)) continue;
            if (m.group(3) != null && m.group(3).contains("quantile=")) continue;
            double v = Double.parseDouble(m.group(4));
            if (!Double.isNaN(v)) out.merge(m.group(1).substring(prefix.length()), v, Double::sum);
        }
        return out;
    }

    /** The values label {@code label} takes on samples of {@code name}. */
    static Set<String> labels(String text, String name, String label) {
        Set<String> out = new TreeSet<>();
        Pattern l = Pattern.compile("(?:^|,)" + label + "=\"([^\"]*)\"");
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!m.find() || !m.group(1).equals(name) || m.group(3) == null) continue;
            Matcher v = l.matcher(m.group(3));
            if (v.find()) out.add(v.group(1));
        }
        return out;
    }

    /** The largest sample of summary {@code name} at quantile {@code q} (over subtasks), NaN if none. */
    static double quantile(String text, String name, String q) {
        double best = Double.NaN;
        for (String line : text.split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!m.find() || !m.group(1).equals(name) || m.group(3) == null || !m.group(3).contains("quantile=\"" + q + "\"")) continue;
            double v = Double.parseDouble(m.group(4));
            if (!Double.isNaN(v) && (Double.isNaN(best) || v > best)) best = v;
        }
        return best;
    }
}
