package dev.hmem.operators.engine;

/**
 * What the generation engine reports. Called from the engine's own threads, so implementations
 * must be thread-safe; the Flink operator maps them onto its metric group. Every method has a
 * no-op default, so a listener overrides only what it counts.
 */
public interface EngineMetrics {

    default void cacheHit(int level) {}

    default void cacheMiss(int level) {}

    default void cacheEviction(int level) {}

    default void blockLoaded(int level, double millis) {}

    /** A block failed its checksum or its read and was quarantined. */
    default void blockFailed(int level) {}

    /** A prompt was answered with less memory than routed (a block of its path was quarantined). */
    default void memoryFallback(int level) {}

    /** A missing block was taken back from prompts that still held it after its eviction: no read, no second copy. */
    default void blockRevived(int level) {}

    /** A prompt's prefetch waits: the blocks prompts hold fill the block cache budget. */
    default void prefetchDeferred() {}

    /** Rows in one decode step. */
    default void batch(int rows) {}

    /**
     * One step of the generator: the prompts it prefilled, the rows it decoded and how long it
     * took. Summed over an interval they split a throughput gap into its causes: time the engine
     * was not stepping, rows per step, time per step.
     */
    default void step(int prefillRows, int decodeRows, long nanos) {}

    default void queued(double millis) {}

    /** A prompt answered "overloaded": its deadline passed before its generation started. */
    default void overloaded() {}

    default void firstToken(double millis) {}

    default void tokens(int count) {}

    default void endToEnd(double millis) {}

    /** Reports nothing. */
    EngineMetrics NONE = new EngineMetrics() {};
}
