package dev.hmem.operators.functions;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlState;
import dev.hmem.operators.control.ServedVersion;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;

/**
 * One operator's {@link ControlState}, kept in Flink broadcast state: every subtask holds the same copy, and a
 * restore (at any parallelism) hands each subtask one, so the serving version and the block list survive restarts,
 * rescales and savepoints. Task thread only.
 */
final class ControlPlane {

    private static final String KEY = "control";

    private final BroadcastState<String, ControlState> stored;
    private ControlState state;

    private ControlPlane(BroadcastState<String, ControlState> stored, ControlState state) {
        this.stored = stored;
        this.state = state;
    }

    static MapStateDescriptor<String, ControlState> descriptor() {
        return new MapStateDescriptor<>("control-state", Types.STRING, TypeInformation.of(ControlState.class));
    }

    /** The restored state, or the command line's version when the job starts without state. */
    static ControlPlane restore(StateInitializationContext context, ServedVersion commandLine) throws Exception {
        BroadcastState<String, ControlState> s = context.getOperatorStateStore().getBroadcastState(descriptor());
        ControlState restored = context.isRestored() ? s.get(KEY) : null;
        return new ControlPlane(s, restored != null ? restored : ControlState.initial(commandLine));
    }

    ControlState state() {
        return state;
    }

    boolean isNew(ControlCommand c) {
        return state.isNew(c);
    }

    void apply(ControlCommand c) {
        state = state.apply(c);
    }

    void activated(ServedVersion v) {
        state = state.activated(v);
    }

    void refused(ServedVersion v) {
        state = state.refused(v);
    }

    void snapshot() throws Exception {
        stored.put(KEY, state);
    }

    /** One daemon thread for loading and checking versions in the background. */
    static ExecutorService loaderThread(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Stops the loader, waiting for a load in progress (it may hold native memory) to end. */
    static void stop(ExecutorService loader) throws InterruptedException {
        loader.shutdownNow();
        while (!loader.awaitTermination(10, TimeUnit.SECONDS)) {
            org.slf4j.LoggerFactory.getLogger(ControlPlane.class).warn("waiting for a version load to end");
        }
    }
}
