package dev.hmem.model.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** The evaluation as a markdown table and a PNG plot of accuracy against training frequency. */
public final class ResultsReport {

    private ResultsReport() {}

    public static String bucketLabel(int b) {
        int[] r = Evaluator.BUCKETS[b];
        return r[1] == Integer.MAX_VALUE ? r[0] + "+" : r[0] + "–" + r[1];
    }

    public static String table(List<Evaluator.ConditionResult> results) {
        StringBuilder sb = new StringBuilder("| condition |");
        int buckets = Evaluator.BUCKETS.length;
        for (int b = 0; b < buckets; b++) sb.append(" seen ").append(bucketLabel(b)).append(" |");
        sb.append(" all facts | held-out perplexity |\n|---|");
        for (int b = 0; b <= buckets + 1; b++) sb.append("---|");
        sb.append('\n');
        for (Evaluator.ConditionResult r : results) {
            sb.append("| ").append(r.name()).append(" |");
            for (int b = 0; b < buckets; b++) {
                sb.append(r.total()[b] == 0 ? " – |" : String.format(Locale.ROOT, " %.1f%% |", 100.0 * r.correct()[b] / r.total()[b]));
            }
            sb.append(String.format(Locale.ROOT, " %.1f%% | %.2f |%n", 100 * r.overall(), r.perplexity()));
        }
        sb.append("| *facts per bucket* |");
        for (int b = 0; b < buckets; b++) sb.append(' ').append(results.get(0).total()[b]).append(" |");
        sb.append(" | |\n");
        return sb.toString();
    }

    private static final Color[] COLORS = {new Color(0x555555), new Color(0x8E44AD), new Color(0x2471A3),
            new Color(0xCA6F1E), new Color(0xC0392B), new Color(0x27AE60), new Color(0x17202A)};

    /** Accuracy (y) per exposure bucket (x), one line per condition. */
    public static void plot(List<Evaluator.ConditionResult> results, Path png, String title) throws IOException {
        int w = 900, h = 540, left = 70, right = 260, top = 50, bottom = 70;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        int pw = w - left - right, ph = h - top - bottom, buckets = Evaluator.BUCKETS.length;
        g.setColor(new Color(0xDDDDDD));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int pct = 0; pct <= 100; pct += 20) {
            int y = top + ph - pct * ph / 100;
            g.setColor(new Color(0xE5E5E5));
            g.drawLine(left, y, left + pw, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(pct + "%", left - 40, y + 4);
        }
        for (int b = 0; b < buckets; b++) {
            int x = left + (int) ((b + 0.5) * pw / buckets);
            g.drawString(bucketLabel(b), x - 15, top + ph + 20);
        }
        g.drawString("times the fact was seen in training", left + pw / 2 - 100, top + ph + 45);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, left, 28);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i < results.size(); i++) {
            Evaluator.ConditionResult r = results.get(i);
            g.setColor(COLORS[i % COLORS.length]);
            g.setStroke(new BasicStroke(2.2f));
            int px = -1, py = -1;
            for (int b = 0; b < buckets; b++) {
                if (r.total()[b] == 0) continue;
                int x = left + (int) ((b + 0.5) * pw / buckets);
                int y = top + ph - (int) Math.round((double) r.correct()[b] / r.total()[b] * ph);
                g.fillOval(x - 4, y - 4, 8, 8);
                if (px >= 0) g.drawLine(px, py, x, y);
                px = x;
                py = y;
            }
            int ly = top + 20 + i * 22;
            g.drawLine(left + pw + 20, ly - 4, left + pw + 45, ly - 4);
            g.setColor(Color.BLACK);
            g.drawString(r.name(), left + pw + 52, ly);
        }
        g.dispose();
        Files.createDirectories(png.toAbsolutePath().getParent());
        ImageIO.write(img, "png", png.toFile());
    }
}
