package dev.hmem.cli.loadtest;

/**
 * How an open-loop step's rate climbs at its start: from {@code startFraction} of the step's rate to all of it over
 * {@code seconds}, linearly or exponentially (doubling at even intervals), as vLLM's ramp-up strategies do.
 */
public record Ramp(String strategy, double seconds, double startFraction) {
    public static final Ramp NONE = new Ramp("none", 0, 1);

    public Ramp {
        if (!java.util.Set.of("none", "linear", "exponential").contains(strategy)) {
            throw new IllegalArgumentException("--ramp must be none, linear or exponential, got '" + strategy + "'");
        }
        if (seconds < 0 || !(startFraction > 0) || startFraction > 1) {
            throw new IllegalArgumentException("--ramp-seconds >= 0 and --ramp-start in (0, 1] required");
        }
    }

    /** The share of the step's rate to send at {@code t} seconds into the step. */
    public double share(double t) {
        if (strategy.equals("none") || seconds == 0 || t >= seconds) return 1;
        double f = Math.max(0, t) / seconds;
        return strategy.equals("linear") ? startFraction + (1 - startFraction) * f : Math.pow(startFraction, 1 - f);
    }
}
