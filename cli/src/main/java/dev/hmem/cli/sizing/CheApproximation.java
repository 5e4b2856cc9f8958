package dev.hmem.cli.sizing;

/**
 * Che, Tung and Wang's approximation of an LRU cache (IEEE JSAC 2002), for items of unequal size: an item requested
 * at rate λ_i stays cached for a characteristic time T after its last request, so it is a hit with probability
 * 1 − e^(−λ_i·T), where T is the one time at which the expected bytes held, Σ size_i·(1 − e^(−λ_i·T)), equal the
 * budget. Accurate to a point or two for large caches under independent requests (Fricker, Robert, Roberts 2012).
 */
final class CheApproximation {

    private CheApproximation() {}

    static double[] hitProbabilities(double[] rate, long[] bytes, long budget) {
        check(rate, bytes, budget);
        int n = rate.length;
        double[] h = new double[n];
        double wanted = 0;
        for (int i = 0; i < n; i++) if (rate[i] > 0) wanted += bytes[i];
        if (wanted <= budget) {  // the whole working set fits: everything requested stays
            for (int i = 0; i < n; i++) h[i] = rate[i] > 0 ? 1 : 0;
            return h;
        }
        if (budget <= 0) return h;
        // held(T) rises from 0 to `wanted`; bisect on log T between bounds that bracket the budget
        double lo = 1e-12, hi = 1;
        while (held(rate, bytes, hi) < budget) hi *= 2;
        for (int it = 0; it < 200 && hi / lo > 1 + 1e-12; it++) {
            double mid = Math.sqrt(lo * hi);
            if (held(rate, bytes, mid) < budget) lo = mid;
            else hi = mid;
        }
        double t = Math.sqrt(lo * hi);
        for (int i = 0; i < n; i++) h[i] = -Math.expm1(-rate[i] * t);
        return h;
    }

    private static double held(double[] rate, long[] bytes, double t) {
        double s = 0;
        for (int i = 0; i < rate.length; i++) s += bytes[i] * -Math.expm1(-rate[i] * t);
        return s;
    }

    static void check(double[] rate, long[] bytes, long budget) {
        if (rate.length != bytes.length) throw new IllegalArgumentException("one size per item: " + rate.length + " rates, " + bytes.length + " sizes");
        if (budget < 0) throw new IllegalArgumentException("budget must be >= 0, got " + budget);
        for (int i = 0; i < rate.length; i++) {
            if (!(rate[i] >= 0) || bytes[i] < 0) throw new IllegalArgumentException("item " + i + ": rate " + rate[i] + ", bytes " + bytes[i]);
        }
    }
}
