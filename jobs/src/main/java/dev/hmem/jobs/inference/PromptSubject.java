package dev.hmem.jobs.inference;

import dev.hmem.operators.codec.SchemaRegistryClient;
import dev.hmem.schemas.PromptRequest;
import java.io.IOException;

/**
 * The prompt subject in the schema registry, set up at job start: the job's own PromptRequest version registered, and
 * the subject's compatibility rule FULL (backward and forward), so the registry refuses any version the job could not
 * read, and the job any version it cannot resolve — producers and the job then evolve independently.
 */
public final class PromptSubject {

    static final String COMPATIBILITY = "FULL";

    private PromptSubject() {}

    /** Returns the job's version's global id. */
    public static int prepare(InferenceOptions o) throws IOException {
        SchemaRegistryClient r = new SchemaRegistryClient(o.schemaRegistry());
        r.compatibility(o.schemaSubject(), COMPATIBILITY);
        return r.register(o.schemaSubject(), PromptRequest.getClassSchema().toString());
    }
}
