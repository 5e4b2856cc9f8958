package dev.hmem.operators.engine;

/**
 * What the generation engine reports. Called from the engine's own threads, so implementations
 * must be thread-safe; the Flink operator maps them onto its metric group.
 */
public interface EngineMetrics {

    void cacheHit(int level);

    void cacheMiss(int level);

    void cacheEviction(int level);

    void blockLoaded(int level, double millis);

    /** Rows in one decode step. */
    void batch(int rows);

    void queued(double millis);

    void firstToken(double millis);

    void tokens(int count);

    void endToEnd(double millis);

    EngineMetrics NONE = new EngineMetrics() {
        @Override public void cacheHit(int level) {}
        @Override public void cacheMiss(int level) {}
        @Override public void cacheEviction(int level) {}
        @Override public void blockLoaded(int level, double millis) {}
        @Override public void batch(int rows) {}
        @Override public void queued(double millis) {}
        @Override public void firstToken(double millis) {}
        @Override public void tokens(int count) {}
        @Override public void endToEnd(double millis) {}
    };
}
