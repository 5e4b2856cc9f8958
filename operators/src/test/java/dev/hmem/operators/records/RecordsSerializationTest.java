package dev.hmem.operators.records;

import org.apache.flink.types.PojoTestUtils;
import org.junit.jupiter.api.Test;

/** Records between operators must use Flink's POJO serializer, never Kryo. */
class RecordsSerializationTest {

    @Test
    void recordsAreSerializedAsPojosWithoutKryo() {
        PojoTestUtils.assertSerializedAsPojoWithoutKryo(RawRecord.class);
        PojoTestUtils.assertSerializedAsPojoWithoutKryo(PromptTask.class);
        PojoTestUtils.assertSerializedAsPojoWithoutKryo(ResultRecord.class);
        PojoTestUtils.assertSerializedAsPojoWithoutKryo(DeadLetterRecord.class);
    }
}
