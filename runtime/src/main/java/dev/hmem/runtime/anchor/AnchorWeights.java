package dev.hmem.runtime.anchor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hmem.runtime.bank.BankManifest;
import dev.hmem.runtime.config.ModelConfig;
import dev.hmem.runtime.io.Checkpoint;
import dev.hmem.runtime.io.DType;
import dev.hmem.runtime.io.SafeTensorsException;
import dev.hmem.runtime.io.SafeTensorsWriter;
import dev.hmem.runtime.io.TensorInfo;
import dev.hmem.runtime.tensor.Tensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.CRC32C;

/**
 * The anchor's parameters in f32, with q/k/v and gate/up fused so each layer runs two matrix
 * multiplies fewer. Loaded from and saved to the Hugging Face Llama tensor names, so checkpoints
 * move freely between hmem and other Llama tooling.
 */
public final class AnchorWeights implements AutoCloseable {

    public final ModelConfig config;
    /** Owns every array below; closed with the weights. */
    public final NDManager manager;
    public final NDArray embed;       // (V, d)
    public final NDArray[] attnNorm;  // (L)(d)
    public final NDArray[] wqkv;      // (L)((H + 2 Hkv) hd, d): q rows, then k, then v
    public final NDArray[] wo;        // (L)(d, H hd)
    public final NDArray[] ffnNorm;   // (L)(d)
    public final NDArray[] wgu;       // (L)(2F, d): gate rows, then up rows
    public final NDArray[] wdown;     // (L)(d, F)
    public final NDArray finalNorm;   // (d)
    public final NDArray lmHead;      // (V, d); the embed array itself when tied
    /** Identity of these exact weights: bank manifests name the anchor they were trained with. */
    public final String fingerprint;

    private AnchorWeights(ModelConfig config, NDManager manager, NDArray embed, NDArray[] attnNorm,
                          NDArray[] wqkv, NDArray[] wo, NDArray[] ffnNorm, NDArray[] wgu, NDArray[] wdown,
                          NDArray finalNorm, NDArray lmHead, String fingerprint) {
        this.config = config;
        this.manager = manager;
        this.embed = embed;
        this.attnNorm = attnNorm;
        this.wqkv = wqkv;
        this.wo = wo;
        this.ffnNorm = ffnNorm;
        this.wgu = wgu;
        this.wdown = wdown;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.fingerprint = fingerprint;
    }

    /** Hugging Face names of one layer's tensors, in the order {@link #save} writes them. */
    static List<String> layerNames(int i) {
        String p = "model.layers." + i + ".";
        return List.of(p + "input_layernorm.weight", p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                p + "self_attn.v_proj.weight", p + "self_attn.o_proj.weight", p + "post_attention_layernorm.weight",
                p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight", p + "mlp.down_proj.weight");
    }

    /** Expected shape of every tensor of a checkpoint for {@code c}, by Hugging Face name. */
    static Map<String, long[]> expectedShapes(ModelConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long d = c.hiddenSize(), hd = c.headDim(), f = c.intermediateSize();
        m.put("model.embed_tokens.weight", new long[] {c.vocabSize(), d});
        for (int i = 0; i < c.numLayers(); i++) {
            List<String> n = layerNames(i);
            m.put(n.get(0), new long[] {d});
            m.put(n.get(1), new long[] {c.numHeads() * hd, d});
            m.put(n.get(2), new long[] {c.numKvHeads() * hd, d});
            m.put(n.get(3), new long[] {c.numKvHeads() * hd, d});
            m.put(n.get(4), new long[] {d, c.numHeads() * hd});
            m.put(n.get(5), new long[] {d});
            m.put(n.get(6), new long[] {f, d});
            m.put(n.get(7), new long[] {f, d});
            m.put(n.get(8), new long[] {d, f});
        }
        m.put("model.norm.weight", new long[] {d});
        if (!c.tieWordEmbeddings()) m.put("lm_head.weight", new long[] {c.vocabSize(), d});
        return m;
    }

    /**
     * Loads the checkpoint in {@code modelDir} onto {@code manager}. Missing tensors, tensors of the
     * wrong shape, unexpected tensors and checksum mismatches are errors naming the tensor.
     */
    public static AnchorWeights load(Path modelDir, ModelConfig config) throws IOException {
        Map<String, long[]> expected = expectedShapes(config);
        NDManager manager = NDManager.newBaseManager();
        try (Checkpoint ckpt = Checkpoint.open(modelDir)) {
            Set<String> unexpected = new TreeSet<>();
            for (String name : ckpt.names()) {
                // Old Llama exports carry the RoPE table as a buffer; it is recomputed from the config.
                if (!expected.containsKey(name) && !name.endsWith("rotary_emb.inv_freq")
                        && !(config.tieWordEmbeddings() && name.equals("lm_head.weight"))) {
                    unexpected.add(name);
                }
            }
            if (!unexpected.isEmpty()) {
                throw new SafeTensorsException(modelDir + ": unexpected tensor(s) " + unexpected
                        + " for a Llama model with " + config.numLayers() + " layers");
            }
            Map<String, Long> crcs = new TreeMap<>();
            Map<String, NDArray> loaded = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                String name = e.getKey();
                TensorInfo info = ckpt.info(name);
                if (!info.hasShape(e.getValue())) {
                    throw new SafeTensorsException(modelDir + ": tensor '" + name + "' has shape "
                            + info.shapeString() + ", the config needs " + java.util.Arrays.toString(e.getValue()));
                }
                if (!info.dtype().isFloat()) {
                    throw new SafeTensorsException(modelDir + ": tensor '" + name + "' is " + info.dtype()
                            + ", expected F32, BF16 or F16");
                }
                Checkpoint.Read read = ckpt.read(name);
                crcs.put(name, read.crc32c());
                loaded.put(name, Tensors.toF32(manager, read.bytes(), info.dtype(), info.shape()));
            }
            return assemble(config, manager, loaded, fingerprint(config, crcs));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static AnchorWeights assemble(ModelConfig c, NDManager manager, Map<String, NDArray> t, String fp) {
        int layers = c.numLayers();
        NDArray[] attnNorm = new NDArray[layers], wqkv = new NDArray[layers], wo = new NDArray[layers];
        NDArray[] ffnNorm = new NDArray[layers], wgu = new NDArray[layers], wdown = new NDArray[layers];
        for (int i = 0; i < layers; i++) {
            List<String> n = layerNames(i);
            attnNorm[i] = t.get(n.get(0));
            wqkv[i] = fuse(t.get(n.get(1)), t.get(n.get(2)), t.get(n.get(3)));
            wo[i] = t.get(n.get(4));
            ffnNorm[i] = t.get(n.get(5));
            wgu[i] = fuse(t.get(n.get(6)), t.get(n.get(7)));
            wdown[i] = t.get(n.get(8));
        }
        NDArray embed = t.get("model.embed_tokens.weight");
        NDArray head = c.tieWordEmbeddings() ? embed : t.get("lm_head.weight");
        return new AnchorWeights(c, manager, embed, attnNorm, wqkv, wo, ffnNorm, wgu, wdown,
                t.get("model.norm.weight"), head, fp);
    }

    private static NDArray fuse(NDArray... parts) {
        NDArray fused = NDArrays.concat(new NDList(parts), 0);
        for (NDArray p : parts) p.close();
        return fused;
    }

    /**
     * Random weights as a Llama is initialised: normal(0, 0.02) matrices, the two projections that
     * write into the residual stream scaled by 1/sqrt(2L), unit RMSNorm gains. Deterministic in seed.
     */
    public static AnchorWeights random(ModelConfig c, long seed) {
        NDManager manager = NDManager.newBaseManager();
        Random rnd = new Random(seed);
        double std = 0.02, residualStd = 0.02 / Math.sqrt(2.0 * c.numLayers());
        Map<String, NDArray> t = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : expectedShapes(c).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            float[] v = new float[Math.toIntExact(new Shape(shape).size())];
            if (shape.length == 1) {
                java.util.Arrays.fill(v, 1f);
            } else {
                double s = name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? residualStd : std;
                for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * s);
            }
            t.put(name, manager.create(v, new Shape(shape)));
        }
        Map<String, Long> crcs = new TreeMap<>();
        t.forEach((name, arr) -> crcs.put(name, crc(arr.toFloatArray())));
        return assemble(c, manager, t, fingerprint(c, crcs));
    }

    /**
     * Writes {@code model.safetensors} (Hugging Face names, each tensor's CRC32C in the metadata) and
     * {@code config.json} into {@code dir}. Returns the fingerprint of the written weights, which is
     * what {@link #load} will report for them.
     */
    public String save(Path dir, DType dtype) throws IOException {
        Map<String, NDArray> tensors = unfused();
        List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        Map<String, Long> crcs = new TreeMap<>();
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            float[] v = e.getValue().toFloatArray();
            ByteBuffer buf = ByteBuffer.allocate(v.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
            dtype.encodeFloats(java.nio.FloatBuffer.wrap(v), buf);
            byte[] bytes = buf.array();
            CRC32C crc = new CRC32C();
            crc.update(bytes);
            crcs.put(e.getKey(), crc.getValue());
            meta.put(Checkpoint.CRC_PREFIX + e.getKey(), String.format("%08x", crc.getValue()));
            entries.add(new SafeTensorsWriter.Entry(e.getKey(), dtype, e.getValue().getShape().getShape()));
            data.add(bytes);
        }
        try (SafeTensorsWriter w = SafeTensorsWriter.create(dir.resolve(Checkpoint.SINGLE_FILE), meta, entries)) {
            for (byte[] b : data) w.write(ByteBuffer.wrap(b));
        }
        config.save(dir);
        return fingerprint(config, crcs);
    }

    /** The tensors under their Hugging Face names, q/k/v and gate/up split apart again (views). */
    public Map<String, NDArray> unfused() {
        ModelConfig c = config;
        long q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKvHeads() * c.headDim();
        long f = c.intermediateSize();
        Map<String, NDArray> m = new LinkedHashMap<>();
        m.put("model.embed_tokens.weight", embed);
        for (int i = 0; i < c.numLayers(); i++) {
            List<String> n = layerNames(i);
            m.put(n.get(0), attnNorm[i]);
            m.put(n.get(1), wqkv[i].get("0:{}", q));
            m.put(n.get(2), wqkv[i].get("{}:{}", q, q + kv));
            m.put(n.get(3), wqkv[i].get("{}:", q + kv));
            m.put(n.get(4), wo[i]);
            m.put(n.get(5), ffnNorm[i]);
            m.put(n.get(6), wgu[i].get("0:{}", f));
            m.put(n.get(7), wgu[i].get("{}:", f));
            m.put(n.get(8), wdown[i]);
        }
        m.put("model.norm.weight", finalNorm);
        if (!c.tieWordEmbeddings()) m.put("lm_head.weight", lmHead);
        return m;
    }

    /** Every trainable array once (the tied head is the embedding). */
    public List<NDArray> parameters() {
        List<NDArray> p = new ArrayList<>();
        p.add(embed);
        for (int i = 0; i < config.numLayers(); i++) {
            p.add(attnNorm[i]);
            p.add(wqkv[i]);
            p.add(wo[i]);
            p.add(ffnNorm[i]);
            p.add(wgu[i]);
            p.add(wdown[i]);
        }
        p.add(finalNorm);
        if (!config.tieWordEmbeddings()) p.add(lmHead);
        return p;
    }

    private static long crc(float[] v) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(v);
        CRC32C crc = new CRC32C();
        crc.update(buf);
        return crc.getValue();
    }

    /**
     * SHA-256 over the config and every tensor's name and CRC32C, shortened to 16 hex digits. Depends
     * on the values as stored, so re-saving in another dtype gives another fingerprint.
     */
    static String fingerprint(ModelConfig c, Map<String, Long> crcs) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(c.toJson().toString().getBytes(StandardCharsets.UTF_8));
            new TreeMap<>(crcs).forEach((name, crc) ->
                    md.update((name + ":" + Long.toHexString(crc) + "\n").getBytes(StandardCharsets.UTF_8)));
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What a memory bank records of the anchor it was trained with, to refuse any other. */
    public BankManifest.Anchor identity() {
        return new BankManifest.Anchor(fingerprint, config.hiddenSize(), config.numLayers());
    }

    @Override
    public void close() {
        manager.close();
    }
}
