package dev.hmem.operators.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hmem.schemas.PromptRequest;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

class PromptCodecTest {

    /** What a minimal client in another language might write: only the required fields. */
    static final String MINIMAL = "{\"type\":\"record\",\"name\":\"PromptRequest\",\"namespace\":\"dev.hmem.schemas\","
            + "\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"text\",\"type\":\"string\"}]}";

    /** Single-object encoding by hand, as a non-Java producer would do it. */
    static byte[] singleObject(Schema schema, GenericRecord r) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xC3);
        out.write(0x01);
        long fp = SchemaNormalization.parsingFingerprint64(schema);
        for (int i = 0; i < 8; i++) out.write((int) (fp >>> (8 * i)));
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(r, enc);
        enc.flush();
        return out.toByteArray();
    }

    @Test
    void roundTripsTheCurrentSchema() throws Exception {
        PromptRequest p = PromptRequest.newBuilder().setId("a").setText("hello").setTemperature(0.7).setStop(List.of("."))
                .setMemoryPath("1.2").build();
        PromptRequest back = new PromptCodec().decode(PromptCodec.encode(p));
        assertThat(back).isEqualTo(p);
    }

    @Test
    void aRegisteredOlderWriterSchemaResolvesWithDefaults() throws Exception {
        Schema minimal = new Schema.Parser().parse(MINIMAL);
        GenericRecord r = new GenericData.Record(minimal);
        r.put("id", "x1");
        r.put("text", "What is the atomic number of xenon?");
        byte[] bytes = singleObject(minimal, r);

        assertThatThrownBy(() -> new PromptCodec().decode(bytes)).isInstanceOf(InvalidRecordException.class)
                .hasMessageContaining("unknown writer schema fingerprint");
        PromptRequest p = new PromptCodec(List.of(MINIMAL)).decode(bytes);
        assertThat(p.getId()).isEqualTo("x1");
        assertThat(p.getMaxNewTokens()).isNull();
        assertThat(p.getNoMemory()).isFalse();
        assertThat(p.getStop()).isEmpty();
    }

    @Test
    void garbageIsAClearError() throws Exception {
        PromptCodec c = new PromptCodec();
        assertThatThrownBy(() -> c.decode(new byte[0])).hasMessageContaining("empty record");
        assertThatThrownBy(() -> c.decode("{\"id\":1}".getBytes())).hasMessageContaining("not a PromptRequest in single-object encoding").hasMessageContaining("Confluent wire format");
        byte[] good = PromptCodec.encode(PromptRequest.newBuilder().setId("a").setText("b").build());
        assertThatThrownBy(() -> c.decode(java.util.Arrays.copyOf(good, good.length - 3)))
                .hasMessageContaining("malformed PromptRequest body");
    }
}
