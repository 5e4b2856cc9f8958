package dev.hmem.training.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * k-means with k-means++ seeding and Lloyd (EM) iterations, plus the paper's balancing: a cluster
 * holding more than {@code maxShare}/k of the points is split in two, one half replacing the
 * smallest cluster, until no cluster is over-full (or rounds run out). The paper splits at random;
 * here the split follows the cluster's own 2-means poles ({@link #farHalf}). Points are rows of a
 * row-major float matrix.
 */
public final class KMeans {

    /** Centroids (k × dim, row-major) and the cluster of each point. */
    public record Result(float[] centroids, int[] assignment, int k) {
        public int[] sizes() {
            int[] s = new int[k];
            for (int a : assignment) s[a]++;
            return s;
        }
    }

    private KMeans() {}

    /**
     * @param points  the rows to cluster (indices into {@code data})
     * @param data    n × dim, row-major
     */
    public static Result fit(float[] data, int dim, int[] points, int k, int iterations, double maxShare, Random rnd) {
        int n = points.length;
        if (k < 1 || k > n) throw new IllegalArgumentException("k must be in [1, " + n + "], got " + k);
        float[] cent = plusPlus(data, dim, points, k, rnd);
        int[] assign = new int[n];
        for (int it = 0; it < iterations; it++) {
            boolean changed = assignAll(data, dim, points, cent, k, assign);
            update(data, dim, points, assign, cent, k, rnd);
            if (!changed && it > 0) break;
        }
        if (maxShare > 0) balance(data, dim, points, assign, cent, k, maxShare, rnd);
        return new Result(cent, assign, k);
    }

    static float[] plusPlus(float[] data, int dim, int[] points, int k, Random rnd) {
        int n = points.length;
        float[] cent = new float[k * dim];
        int first = points[rnd.nextInt(n)];
        System.arraycopy(data, first * dim, cent, 0, dim);
        double[] d2 = new double[n];
        for (int i = 0; i < n; i++) d2[i] = dist2(data, points[i] * dim, cent, 0, dim);
        for (int c = 1; c < k; c++) {
            double sum = 0;
            for (double v : d2) sum += v;
            int pick;
            if (sum <= 0) {
                pick = rnd.nextInt(n);  // all remaining points coincide with centroids
            } else {
                double u = rnd.nextDouble() * sum;
                pick = n - 1;
                for (int i = 0; i < n; i++) {
                    u -= d2[i];
                    if (u <= 0) {
                        pick = i;
                        break;
                    }
                }
            }
            System.arraycopy(data, points[pick] * dim, cent, c * dim, dim);
            for (int i = 0; i < n; i++) d2[i] = Math.min(d2[i], dist2(data, points[i] * dim, cent, c * dim, dim));
        }
        return cent;
    }

    static boolean assignAll(float[] data, int dim, int[] points, float[] cent, int k, int[] assign) {
        boolean changed = false;
        for (int i = 0; i < points.length; i++) {
            int best = nearest(data, points[i] * dim, cent, k, dim);
            if (best != assign[i]) changed = true;
            assign[i] = best;
        }
        return changed;
    }

    public static int nearest(float[] data, int off, float[] cent, int k, int dim) {
        int best = 0;
        double bestD = Double.MAX_VALUE;
        for (int c = 0; c < k; c++) {
            double d = dist2(data, off, cent, c * dim, dim);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best;
    }

    static double dist2(float[] a, int ao, float[] b, int bo, int dim) {
        double s = 0;
        for (int j = 0; j < dim; j++) {
            double d = a[ao + j] - b[bo + j];
            s += d * d;
        }
        return s;
    }

    /** Centroid = mean of its points; an empty cluster is re-seeded on a random point. */
    static void update(float[] data, int dim, int[] points, int[] assign, float[] cent, int k, Random rnd) {
        double[] sum = new double[k * dim];
        int[] count = new int[k];
        for (int i = 0; i < points.length; i++) {
            int c = assign[i];
            count[c]++;
            int off = points[i] * dim;
            for (int j = 0; j < dim; j++) sum[c * dim + j] += data[off + j];
        }
        for (int c = 0; c < k; c++) {
            if (count[c] == 0) {
                System.arraycopy(data, points[rnd.nextInt(points.length)] * dim, cent, c * dim, dim);
                continue;
            }
            for (int j = 0; j < dim; j++) cent[c * dim + j] = (float) (sum[c * dim + j] / count[c]);
        }
    }

    static void balance(float[] data, int dim, int[] points, int[] assign, float[] cent, int k, double maxShare,
                        Random rnd) {
        int n = points.length;
        double cap = maxShare * n / k;
        for (int round = 0; round < 4 * k; round++) {
            int[] size = new int[k];
            for (int a : assign) size[a]++;
            int big = 0, small = 0;
            for (int c = 1; c < k; c++) {
                if (size[c] > size[big]) big = c;
                if (size[c] < size[small]) small = c;
            }
            if (size[big] <= cap || big == small) return;
            // The smallest cluster's points go to their nearest other cluster; then the over-full
            // cluster is split at random, one half taking the freed index.
            List<Integer> bigMembers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (assign[i] == small) {
                    int best = -1;
                    double bestD = Double.MAX_VALUE;
                    for (int c = 0; c < k; c++) {
                        if (c == small) continue;
                        double d = dist2(data, points[i] * dim, cent, c * dim, dim);
                        if (d < bestD) {
                            bestD = d;
                            best = c;
                        }
                    }
                    assign[i] = best;
                }
                if (assign[i] == big) bigMembers.add(i);
            }
            for (int i : farHalf(data, dim, points, bigMembers, rnd)) assign[i] = small;
            update(data, dim, points, assign, cent, k, rnd);
        }
    }

    /**
     * The half of {@code members} (indices into {@code points}) on one side of the cluster: 2-means
     * finds its two poles, and the members are cut at the median of (distance to one pole − distance
     * to the other). A random half would leave two clusters with the same centroid, and a query near
     * them would land in either by chance; a cut along the cluster's main split keeps each half
     * coherent, so routing a question lands where its subject's documents went.
     */
    static List<Integer> farHalf(float[] data, int dim, int[] points, List<Integer> members, Random rnd) {
        int m = members.size();
        int[] sub = new int[m];
        for (int j = 0; j < m; j++) sub[j] = points[members.get(j)];
        if (m < 2) return List.of();
        float[] poles = plusPlus(data, dim, sub, 2, rnd);
        int[] side = new int[m];
        for (int it = 0; it < 10; it++) {
            boolean changed = assignAll(data, dim, sub, poles, 2, side);
            update(data, dim, sub, side, poles, 2, rnd);
            if (!changed && it > 0) break;
        }
        Integer[] order = new Integer[m];
        double[] score = new double[m];
        for (int j = 0; j < m; j++) {
            order[j] = j;
            score[j] = dist2(data, sub[j] * dim, poles, 0, dim) - dist2(data, sub[j] * dim, poles, dim, dim);
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(score[b], score[a]));
        List<Integer> half = new ArrayList<>();
        for (int j = 0; j < m / 2; j++) half.add(members.get(order[j]));
        return half;
    }
}
