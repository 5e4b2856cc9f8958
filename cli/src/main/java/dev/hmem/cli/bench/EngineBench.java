package dev.hmem.cli.bench;

import dev.hmem.cli.cluster.CpuUsage;
import dev.hmem.cli.loadtest.EngineTime;
import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.engine.ServingConfig;
import dev.hmem.operators.engine.StepTotals;
import dev.hmem.operators.memory.ServingModel;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.runtime.Progress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The job's generation engine alone, in the job's layout: one engine per generate subtask, each
 * with its own anchor copy, block cache and one PyTorch thread, all running at once, their queues
 * kept full with the load test's prompts (already routed and tokenized, as they reach the generate
 * operator). What the streaming job would deliver if Flink, Kafka and routing cost nothing: the
 * reference its throughput is measured against.
 */
final class EngineBench {

    private EngineBench() {}

    /**
     * What the engines did over the measured seconds: output tokens/s, where their time went (the
     * same counters the job's generate subtasks report), and this process's CPU by thread group.
     */
    record Result(double tokensPerSecond, EngineTime time, Map<String, Map<String, Double>> cpu) {}

    /** One engine's step totals as {@link EngineTime} reads them (the job's subtasks report the same totals). */
    private static EngineTime.Counters read(StepTotals t) {
        return new EngineTime.Counters(t.steps(), t.stepMicros(), t.prefillRows(), t.decodeRows());
    }

    /** Output tokens per second of {@code engines} engines over {@code seconds}, after {@code warmup} seconds. */
    static Result run(ServingConfig cfg, List<PromptTask> tasks, int engines, double warmup, double seconds)
            throws Exception {
        AtomicLong tokens = new AtomicLong();
        AtomicInteger next = new AtomicInteger();
        List<GenerationEngine> running = new ArrayList<>();
        List<AutoCloseable> owned = new ArrayList<>();
        List<StepTotals> counters = new ArrayList<>();
        try {
            for (int e = 0; e < engines; e++) {
                ServingModel model = ServingModel.open(cfg);
                owned.add(model);
                GenerationEngine[] self = new GenerationEngine[1];
                StepTotals count = new StepTotals();
                counters.add(count);
                GenerationEngine engine = model.engine(count, new GenerationEngine.Listener() {
                    @Override
                    public void result(String uid, ResultRecord r) {
                        tokens.addAndGet(r.tokenIds().length);
                        self[0].submit(tasks.get(Math.floorMod(next.getAndIncrement(), tasks.size())));  // keep the queue full
                    }

                    @Override
                    public void poisoned(PromptTask t, String error) {
                        self[0].submit(tasks.get(Math.floorMod(next.getAndIncrement(), tasks.size())));
                    }

                    @Override
                    public void failed(Throwable cause, List<PromptTask> batch) {
                        cause.printStackTrace();
                    }
                }, GenerationEngine.StepProbe.NONE, "bench-engine-" + e);
                self[0] = engine;
                running.add(engine);
            }
            for (GenerationEngine e : running) {
                e.start();
                for (int i = 0; i < cfg.maxQueued(); i++) e.submit(tasks.get(Math.floorMod(next.getAndIncrement(), tasks.size())));
            }
            Progress p = Progress.of("engine alone", (long) Math.ceil(warmup + seconds), "s");
            Thread.sleep((long) (warmup * 1000));
            p.advance((long) warmup);
            Map<String, Long> self = Map.of("bench (the engines)", ProcessHandle.current().pid());
            CpuUsage.Snapshot cpu0 = CpuUsage.snapshot(self);
            List<EngineTime.Counters> before = counters.stream().map(EngineBench::read).toList();
            long t0 = System.nanoTime(), n0 = tokens.get();
            for (int s = 0; s < (int) seconds; s++) {
                Thread.sleep(1000);
                p.advance(1, String.format(java.util.Locale.ROOT, "%.0f tokens/s", (tokens.get() - n0) / ((System.nanoTime() - t0) / 1e9)));
            }
            double elapsed = (System.nanoTime() - t0) / 1e9;
            List<EngineTime.Counters> after = counters.stream().map(EngineBench::read).toList();
            return new Result((tokens.get() - n0) / elapsed, EngineTime.between(before, after, elapsed),
                    CpuUsage.cores(cpu0, CpuUsage.snapshot(self), elapsed));
        } finally {
            for (GenerationEngine e : running) e.close();
            for (AutoCloseable c : owned) c.close();
        }
    }
}
