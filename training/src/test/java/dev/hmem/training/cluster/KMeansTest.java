package dev.hmem.training.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hmem.runtime.Progress;
import dev.hmem.runtime.bank.MemoryPath;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KMeansTest {

    /** n points around each of the given centres (gaussian noise of scale sigma). */
    static float[][] blobs(float[][] centres, int n, double sigma, Random rnd) {
        int dim = centres[0].length;
        float[][] out = new float[centres.length * n][dim];
        for (int c = 0; c < centres.length; c++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < dim; j++) out[c * n + i][j] = (float) (centres[c][j] + sigma * rnd.nextGaussian());
            }
        }
        return out;
    }

    static float[] randomCentre(int dim, double scale, Random rnd) {
        float[] c = new float[dim];
        for (int j = 0; j < dim; j++) c[j] = (float) (scale * rnd.nextGaussian());
        return c;
    }

    @Test
    void recoversPlantedClusters() {
        Random rnd = new Random(3);
        float[][] centres = new float[5][];
        for (int c = 0; c < 5; c++) centres[c] = randomCentre(16, 3, rnd);
        float[][] pts = blobs(centres, 60, 0.3, rnd);
        float[] data = new float[pts.length * 16];
        int[] idx = new int[pts.length];
        for (int i = 0; i < pts.length; i++) {
            System.arraycopy(pts[i], 0, data, i * 16, 16);
            idx[i] = i;
        }
        KMeans.Result r = KMeans.fit(data, 16, idx, 5, 30, 1.5, new Random(1));
        // Every planted blob maps to exactly one found cluster and vice versa.
        Map<Integer, Set<Integer>> found = new HashMap<>();
        for (int i = 0; i < pts.length; i++) found.computeIfAbsent(i / 60, k -> new HashSet<>()).add(r.assignment()[i]);
        Set<Integer> used = new HashSet<>();
        for (Set<Integer> s : found.values()) {
            assertThat(s).hasSize(1);
            used.addAll(s);
        }
        assertThat(used).hasSize(5);
    }

    @Test
    void balancingSplitsAnOverfullCluster() {
        Random rnd = new Random(4);
        // One huge blob and two small ones: with k=3 and balancing at 1.5/k, no cluster may keep
        // more than half of the points.
        float[][] big = blobs(new float[][] {randomCentre(8, 3, rnd)}, 300, 0.3, rnd);
        float[][] small = blobs(new float[][] {randomCentre(8, 3, rnd), randomCentre(8, 3, rnd)}, 30, 0.3, rnd);
        float[] data = new float[(300 + 60) * 8];
        int[] idx = new int[360];
        for (int i = 0; i < 360; i++) {
            System.arraycopy(i < 300 ? big[i] : small[i - 300], 0, data, i * 8, 8);
            idx[i] = i;
        }
        KMeans.Result r = KMeans.fit(data, 8, idx, 3, 30, 1.5, new Random(2));
        for (int s : r.sizes()) assertThat(s).isLessThanOrEqualTo(180);
    }

    @Test
    void hierarchicalTreeRoutesEachPlantedSubclusterToItsOwnLeaf() {
        Random rnd = new Random(5);
        int dim = 24;
        float[][] tops = {randomCentre(dim, 4, rnd), randomCentre(dim, 4, rnd), randomCentre(dim, 4, rnd)};
        float[][] centres = new float[9][];
        for (int t = 0; t < 3; t++) {
            for (int s = 0; s < 3; s++) {
                float[] off = randomCentre(dim, 1.0, rnd);
                centres[t * 3 + s] = new float[dim];
                for (int j = 0; j < dim; j++) centres[t * 3 + s][j] = tops[t][j] + off[j];
            }
        }
        float[][] pts = blobs(centres, 40, 0.1, rnd);
        HierarchicalKMeans.Result r = HierarchicalKMeans.fit(pts, 3, 2, 5, 30, 7, "test", Progress.silent(4));
        Map<Integer, Set<MemoryPath>> leafOfBlob = new HashMap<>();
        Map<Integer, Set<Integer>> topOfGroup = new HashMap<>();
        for (int i = 0; i < pts.length; i++) {
            leafOfBlob.computeIfAbsent(i / 40, k -> new HashSet<>()).add(r.leaves()[i]);
            topOfGroup.computeIfAbsent(i / 120, k -> new HashSet<>()).add(r.leaves()[i].digit(0));
        }
        Set<MemoryPath> distinct = new HashSet<>();
        for (Set<MemoryPath> s : leafOfBlob.values()) {
            assertThat(s).hasSize(1);
            distinct.addAll(s);
        }
        assertThat(distinct).hasSize(9);
        for (Set<Integer> s : topOfGroup.values()) assertThat(s).hasSize(1);
    }
}
