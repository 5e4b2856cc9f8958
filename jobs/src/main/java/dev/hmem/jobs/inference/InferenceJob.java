package dev.hmem.jobs.inference;

import dev.hmem.operators.control.ControlCommand;
import dev.hmem.operators.control.ControlStatus;
import dev.hmem.operators.engine.GenerationEngine;
import dev.hmem.operators.functions.DecodePromptFunction;
import dev.hmem.operators.functions.GenerateOperator;
import dev.hmem.operators.functions.RouteOperator;
import dev.hmem.operators.functions.ValidatePromptFunction;
import dev.hmem.operators.records.DeadLetterRecord;
import dev.hmem.operators.records.PartialResult;
import dev.hmem.operators.records.PromptTask;
import dev.hmem.operators.records.RawRecord;
import dev.hmem.operators.records.ResultRecord;
import dev.hmem.operators.routing.AffinityPartitioner;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;

/**
 * Streaming inference: Kafka prompts → decode → validate → route (batched MiniLM) → partition by
 * cluster → generate (cached memories, continuous batching) → Kafka results; undecodable or invalid
 * prompts → dead-letter topic (plus an error result for the client). Commands from the control topic (activate a
 * bank and anchor version, block memories) reach routing and generation as a broadcast stream; their reports go to the
 * status topic. {@link #main} wires Kafka;
 * {@link #defineWorkflow} builds the pipeline from any source of raw records.
 */
public final class InferenceJob {

    /** The outputs of the workflow: results, dead letters, and the subtasks' reports on control commands. */
    public record Outputs(DataStream<ResultRecord> results, DataStream<DeadLetterRecord> deadLetters,
                          DataStream<ControlStatus> statuses, DataStream<PartialResult> partials) {}

    private InferenceJob() {}

    public static void main(String[] args) throws Exception {
        if (java.util.Arrays.asList(args).contains("--help")) {
            picocli.CommandLine.usage(new InferenceOptions.Builder(), System.out);
            return;
        }
        InferenceOptions o = InferenceOptions.parse(args);
        KafkaTopics.ensure(o);
        if (o.schemaRegistry() != null) PromptSubject.prepare(o);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        configure(env, o);
        DataStream<RawRecord> raw = env.fromSource(KafkaConnectors.prompts(o, null), WatermarkStrategy.noWatermarks(),
                "kafka: " + o.promptsTopic()).setParallelism(o.sourceParallelism()).uid("prompts-source");
        DataStream<ControlCommand> control = null;
        if (o.controlTopic() != null) {
            // One reader: the topic has one partition, whose order is the order every subtask applies commands in.
            control = env.fromSource(KafkaConnectors.control(o), WatermarkStrategy.noWatermarks(), "kafka: " + o.controlTopic())
                    .setParallelism(1).uid("control-source");
        }
        Outputs out = defineWorkflow(raw, control, o, GenerationEngine.StepProbe.NONE);
        out.results().sinkTo(KafkaConnectors.results(o)).name("kafka: " + o.resultsTopic()).uid("results-sink");
        out.deadLetters().sinkTo(KafkaConnectors.deadLetters(o)).name("kafka: " + o.deadLetterTopic()).uid("dead-letter-sink");
        if (o.tokenTopic() != null) {
            out.partials().sinkTo(KafkaConnectors.partials(o)).name("kafka: " + o.tokenTopic()).uid("token-sink");
        } else {
            org.slf4j.LoggerFactory.getLogger(InferenceJob.class).info("no --token-topic: requests that ask to stream get their final result only");
        }
        if (o.controlTopic() != null) {
            out.statuses().sinkTo(KafkaConnectors.statuses(o)).name("kafka: " + o.statusTopic()).uid("status-sink");
        }
        env.execute("hmem inference");
    }

    /**
     * Checkpointing (exactly-once mode), max parallelism, network flushing, and the options shown in
     * the UI. Records are small and few (a prompt, an answer) while each costs milliseconds of model
     * time, so network buffers are flushed per record: Flink's default (100 ms) would hold a prompt
     * at each exchange for up to that long at low load, twice before its first token.
     */
    public static void configure(StreamExecutionEnvironment env, InferenceOptions o) {
        env.enableCheckpointing(o.checkpointIntervalMs(), CheckpointingMode.EXACTLY_ONCE);
        env.getCheckpointConfig().setTolerableCheckpointFailureNumber(o.tolerableCheckpointFailures());
        env.setBufferTimeout(o.bufferTimeoutMs());
        env.setMaxParallelism(o.serving().maxParallelism());
        env.getConfig().setGlobalJobParameters(ParameterTool.fromMap(o.asMap()));
    }

    public static Outputs defineWorkflow(DataStream<RawRecord> raw, InferenceOptions o) {
        return defineWorkflow(raw, null, o, GenerationEngine.StepProbe.NONE);
    }

    /** The same, with a probe before every generation step (tests inject faults and hold the engine with it). */
    public static Outputs defineWorkflow(DataStream<RawRecord> raw, InferenceOptions o, GenerationEngine.StepProbe probe) {
        return defineWorkflow(raw, null, o, probe);
    }

    /**
     * The workflow with its control commands ({@code control}; null: none, the command line's version serves), which
     * reach every routing and generating subtask (broadcast) in the control topic's order.
     */
    public static Outputs defineWorkflow(DataStream<RawRecord> raw, DataStream<ControlCommand> control, InferenceOptions o,
                                         GenerationEngine.StepProbe probe) {
        if (control == null) {
            // No control topic: one command every operator skips (its offset, -1, is not after any state's), since an
            // empty collection source fails in Flink 2.2 ("reached the end of the collection" on its first element).
            control = raw.getExecutionEnvironment().fromData(java.util.List.of(ControlCommand.invalid(-1, "", "no control topic")),
                    TypeInformation.of(ControlCommand.class)).setParallelism(1).name("no control topic").uid("no-control");
        }
        DataStream<ControlCommand> commands = control.broadcast();
        int p = o.sourceParallelism();
        SingleOutputStreamOperator<PromptTask> decoded = raw.process(new DecodePromptFunction(o.serving(), o.writerSchemaSource()))
                .name("decode").uid("decode").setParallelism(p);
        SingleOutputStreamOperator<PromptTask> valid = decoded.process(new ValidatePromptFunction(o.serving()))
                .name("validate").uid("validate").setParallelism(p);
        SingleOutputStreamOperator<PromptTask> routed = valid.connect(commands)
                .transform("route", TypeInformation.of(PromptTask.class), new RouteOperator(o.serving()))
                .uid("route").setParallelism(o.routeParallelism());
        SingleOutputStreamOperator<ResultRecord> generated = routed
                .partitionCustom(new AffinityPartitioner(o.serving().affinityRouting()), PromptTask::path)
                .connect(commands)
                .transform("generate", TypeInformation.of(ResultRecord.class), new GenerateOperator(o.serving(), probe))
                .uid("generate").setParallelism(o.serving().generateParallelism())
                .setMaxParallelism(o.serving().maxParallelism());
        DataStream<ResultRecord> results = generated.union(decoded.getSideOutput(ValidatePromptFunction.ERROR_RESULTS),
                valid.getSideOutput(ValidatePromptFunction.ERROR_RESULTS),
                routed.getSideOutput(ValidatePromptFunction.ERROR_RESULTS));
        DataStream<DeadLetterRecord> dead = decoded.getSideOutput(DecodePromptFunction.DEAD_LETTERS)
                .union(valid.getSideOutput(DecodePromptFunction.DEAD_LETTERS),
                        routed.getSideOutput(DecodePromptFunction.DEAD_LETTERS),
                        generated.getSideOutput(DecodePromptFunction.DEAD_LETTERS));
        DataStream<ControlStatus> statuses = routed.getSideOutput(ControlStatus.TAG)
                .union(generated.getSideOutput(ControlStatus.TAG));
        return new Outputs(results, dead, statuses, generated.getSideOutput(GenerateOperator.PARTIALS));
    }
}
