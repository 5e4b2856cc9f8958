package dev.hmem.operators.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ControlStateTest {

    final ControlState start = ControlState.initial(ServedVersion.initial("bankA", "model"));

    @Test
    void anActivateServesOnlyOnceCheckedAndANewerOneReplacesIt() {
        ControlState s = start.apply(ControlCommand.activate(4, "r", "v2", "bankB", null));
        assertThat(s.active().label()).isEqualTo("initial");
        ServedVersion v2 = s.loading();
        assertThat(v2.anchor()).as("the serving anchor is kept").isEqualTo("model");
        ControlState newer = s.apply(ControlCommand.activate(5, "r2", "v3", "bankC", "model2"));
        assertThat(newer.activated(v2).active().label()).as("a replaced load does not switch").isEqualTo("initial");
        assertThat(newer.activated(newer.loading()).active().label()).isEqualTo("v3");
        assertThat(s.refused(v2).active().label()).isEqualTo("initial");
        assertThat(s.refused(v2).loading()).isNull();
    }

    @Test
    void commandsAtOrBelowTheLastAppliedOffsetAreReplays() {
        ControlState s = start.apply(ControlCommand.block(9, "b", ControlCommand.Kind.BLOCK, List.of("1")));
        assertThat(s.isNew(ControlCommand.block(9, "b", ControlCommand.Kind.BLOCK, List.of("1")))).isFalse();
        assertThat(s.isNew(ControlCommand.block(3, "b", ControlCommand.Kind.UNBLOCK, List.of("1")))).isFalse();
        assertThat(s.isNew(ControlCommand.block(10, "b", ControlCommand.Kind.UNBLOCK, List.of("1")))).isTrue();
    }

    @Test
    void checkRefusesWhatEverySubtaskWouldRefuse() {
        assertThat(ControlCommand.activate(1, "r", "", "b", null).checked().problem()).contains("version label");
        assertThat(ControlCommand.activate(1, "r", "initial", "b", null).checked().problem()).contains("command-line version");
        assertThat(ControlCommand.activate(1, "r", "v", null, null).checked().problem()).contains("bank location");
        assertThat(ControlCommand.activate(1, "r", "x".repeat(129), "b", null).checked().problem()).contains("at most 128");
        assertThat(ControlCommand.block(1, "r", ControlCommand.Kind.BLOCK, List.of()).checked().problem()).contains("at least one path");
        assertThat(ControlCommand.activate(1, "r", "v", "b", null).checked().kind()).isEqualTo(ControlCommand.Kind.ACTIVATE);
    }
}
