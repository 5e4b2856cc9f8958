package dev.hmem.cli.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.software.os.OSProcess;
import oshi.software.os.OSThread;
import oshi.software.os.OperatingSystem;

/**
 * Where a machine's CPU goes over an interval: each cluster process's CPU time, split by its threads' names, and the
 * rest of the machine, read through OSHI (which reads Linux's /proc). A JVM profiler sees only Java frames of one
 * process; this also counts native threads (PyTorch, ONNX Runtime inherit the name of the task thread that started
 * them), the broker, and whatever else shares the cores — the load generator included.
 */
public final class CpuUsage {

    /** OSHI reports CPU times in milliseconds. */
    static final double PER_SECOND = 1000;

    /** CPU milliseconds of each process, by thread group, and of the machine, at one moment. */
    public record Snapshot(Map<String, Map<String, Long>> byProcess, long machineBusy, long machineAll) {}

    /** The group of CPU time spent by threads that are no longer there. */
    static final String ENDED = "(threads that ended)";

    private static final SystemInfo SYSTEM = new SystemInfo();

    private CpuUsage() {}

    /** CPU time of every thread of each named process (group = thread name without digits), and the machine's. */
    public static Snapshot snapshot(Map<String, Long> pids) {
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        OperatingSystem os = SYSTEM.getOperatingSystem();
        for (Map.Entry<String, Long> e : pids.entrySet()) {
            OSProcess p = os.getProcess(Math.toIntExact(e.getValue()));
            if (p == null) continue;  // not running
            Map<String, Long> groups = new HashMap<>();
            for (OSThread th : p.getThreadDetails()) groups.merge(group(th.getName()), th.getKernelTime() + th.getUserTime(), Long::sum);
            // The process's own times also count threads that have ended.
            long live = groups.values().stream().mapToLong(Long::longValue).sum();
            groups.put(ENDED, Math.max(0, p.getKernelTime() + p.getUserTime() - live));
            out.put(e.getKey(), groups);
        }
        long[] ticks = SYSTEM.getHardware().getProcessor().getSystemCpuLoadTicks();
        long all = 0;
        for (long v : ticks) all += v;
        long idle = ticks[CentralProcessor.TickType.IDLE.getIndex()] + ticks[CentralProcessor.TickType.IOWAIT.getIndex()];
        return new Snapshot(out, all - idle, all);
    }

    /**
     * A thread's group: its name without a Flink subtask index or a trailing number ("GC Thread#1"
     * → "GC Thread", "generate (2/2)#0" → "generate"). Linux keeps the first 15 characters of a name.
     */
    static String group(String comm) {
        String g = comm.replaceAll("\\s*\\(\\d+/\\d+\\)", "").replaceAll("([#\\-_ ]*\\d+)+$", "").trim();
        return g.isEmpty() ? comm : g;
    }

    /** The group of a snapshot pair that holds the machine's figures: all processes, busy and available. */
    public static final String MACHINE = "(machine)";
    /** CPU used outside the named processes. */
    public static final String ELSEWHERE = "everything else (load generator, tools, kernel)";

    /**
     * Cores used between two snapshots {@code seconds} apart: per process, per thread group (busiest
     * first), then {@link #ELSEWHERE} and {@link #MACHINE} with groups "busy" and "available".
     */
    public static Map<String, Map<String, Double>> cores(Snapshot a, Snapshot b, double seconds) {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        double accounted = 0;
        for (Map.Entry<String, Map<String, Long>> e : b.byProcess().entrySet()) {
            Map<String, Long> before = a.byProcess().getOrDefault(e.getKey(), Map.of());
            List<Map.Entry<String, Double>> groups = new ArrayList<>();
            for (Map.Entry<String, Long> g : e.getValue().entrySet()) {
                double cores = (g.getValue() - before.getOrDefault(g.getKey(), 0L)) / PER_SECOND / seconds;
                if (cores > 0) groups.add(Map.entry(g.getKey(), cores));
            }
            groups.sort(Map.Entry.<String, Double>comparingByValue().reversed());
            Map<String, Double> m = new LinkedHashMap<>();
            for (Map.Entry<String, Double> g : groups) m.put(g.getKey(), g.getValue());
            accounted += total(m);
            out.put(e.getKey(), m);
        }
        double busy = (b.machineBusy() - a.machineBusy()) / PER_SECOND / seconds;
        double all = (b.machineAll() - a.machineAll()) / PER_SECOND / seconds;
        out.put(ELSEWHERE, Map.of("", Math.max(0, busy - accounted)));
        Map<String, Double> machine = new LinkedHashMap<>();
        machine.put("busy", busy);
        machine.put("available", all);
        out.put(MACHINE, machine);
        return out;
    }

    /** Sum of a process's groups. */
    public static double total(Map<String, Double> groups) {
        return groups.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    /** A process's busiest groups as "name 0.52, name 0.10". */
    public static String busiest(Map<String, Double> groups, int n) {
        StringBuilder top = new StringBuilder();
        for (Map.Entry<String, Double> g : groups.entrySet()) {
            if (n-- <= 0) break;
            if (top.length() > 0) top.append(", ");
            top.append(String.format(Locale.ROOT, "%s %.2f", g.getKey().replace("|", "/"), g.getValue()));
        }
        return top.toString();
    }

    /** A markdown table of the CPU used between two snapshots {@code seconds} apart, in cores. */
    static String report(Snapshot a, Snapshot b, double seconds, int topGroups) {
        Map<String, Map<String, Double>> cores = cores(a, b, seconds);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "CPU over %.0f s, in cores (1.00 = one core busy the whole time):%n%n", seconds));
        sb.append("| process | cores | its busiest thread groups (cores) |\n|---|---|---|\n");
        for (Map.Entry<String, Map<String, Double>> e : cores.entrySet()) {
            if (e.getKey().equals(MACHINE) || e.getKey().equals(ELSEWHERE)) continue;
            sb.append(String.format(Locale.ROOT, "| %s | %.2f | %s |%n", e.getKey(), total(e.getValue()), busiest(e.getValue(), topGroups)));
        }
        sb.append(String.format(Locale.ROOT, "| %s | %.2f | |%n", ELSEWHERE, total(cores.get(ELSEWHERE))));
        Map<String, Double> m = cores.get(MACHINE);
        sb.append(String.format(Locale.ROOT, "| the machine, busy / available | %.2f / %.2f | |%n", m.get("busy"), m.get("available")));
        return sb.toString();
    }
}
