package dev.hmem.operators.codec;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of the Confluent Schema Registry REST API that Kafka shops' producers and this job use, against any
 * registry that speaks it (Confluent's, Apicurio's {@code /apis/ccompat/v7}, Karapace): a schema by its global id,
 * a subject's versions, registering a version, and a subject's compatibility rule. Two GETs and two writes, over the
 * JDK's HTTP client: a registry SDK would bring its own HTTP stack and JSON binding into the job jar for them.
 */
public final class SchemaRegistryClient {

    /** The registry could not be asked (down, unreachable, an error of its own): worth retrying. */
    public static final class UnavailableException extends IOException {
        public UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final Gson GSON = new Gson();
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    /** @param url the Confluent-compatible API's root, e.g. {@code http://127.0.0.1:8080/apis/ccompat/v7} */
    public SchemaRegistryClient(String url) {
        this.base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    public String url() {
        return base;
    }

    /** The schema with global id {@code id}, or empty when the registry has none. */
    public Optional<String> schemaById(int id) throws IOException {
        Optional<JsonElement> r = send("GET", "/schemas/ids/" + id, null, true);
        return r.map(e -> e.getAsJsonObject().get("schema").getAsString());
    }

    /** Every version of {@code subject} (empty when the subject does not exist): version number to (id, schema). */
    public List<Version> versions(String subject) throws IOException {
        Optional<JsonElement> list = send("GET", "/subjects/" + enc(subject) + "/versions", null, true);
        List<Version> out = new ArrayList<>();
        if (list.isEmpty()) return out;
        for (JsonElement v : list.get().getAsJsonArray()) {
            JsonObject o = send("GET", "/subjects/" + enc(subject) + "/versions/" + v.getAsInt(), null, false).orElseThrow()
                    .getAsJsonObject();
            out.add(new Version(o.get("version").getAsInt(), o.get("id").getAsInt(), o.get("schema").getAsString()));
        }
        return out;
    }

    /** A subject's version. */
    public record Version(int version, int id, String schema) {}

    /** Registers {@code schema} under {@code subject} (or finds it registered already); returns its global id. */
    public int register(String subject, String schema) throws IOException {
        JsonObject body = new JsonObject();
        body.addProperty("schema", schema);
        return send("POST", "/subjects/" + enc(subject) + "/versions", body, false).orElseThrow().getAsJsonObject().get("id").getAsInt();
    }

    /** Sets the subject's compatibility rule (BACKWARD, FORWARD, FULL, ..., or their _TRANSITIVE forms). */
    public void compatibility(String subject, String level) throws IOException {
        send("PUT", "/config/" + enc(subject), GSON.toJsonTree(Map.of("compatibility", level)).getAsJsonObject(), false);
    }

    /** The subject's compatibility rule, if it has one of its own. */
    public Optional<String> compatibility(String subject) throws IOException {
        return send("GET", "/config/" + enc(subject), null, true).map(e -> {
            JsonObject o = e.getAsJsonObject();
            return (o.has("compatibilityLevel") ? o.get("compatibilityLevel") : o.get("compatibility")).getAsString();
        });
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** The answer's JSON; empty for a 404 when {@code notFoundIsEmpty}; any other failure says what the registry said. */
    private Optional<JsonElement> send(String method, String path, JsonObject body, boolean notFoundIsEmpty) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT)
                .header("Accept", "application/vnd.schemaregistry.v1+json, application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(GSON.toJson(body)));
        if (body != null) b.header("Content-Type", "application/vnd.schemaregistry.v1+json");
        HttpResponse<String> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnavailableException("interrupted asking the schema registry " + base, e);
        } catch (IOException e) {
            throw new UnavailableException("schema registry " + base + " unreachable: " + e, e);
        }
        if (r.statusCode() == 404 && notFoundIsEmpty) return Optional.empty();
        if (r.statusCode() >= 500) throw new UnavailableException("schema registry " + base + ": HTTP " + r.statusCode() + " " + r.body(), null);
        if (r.statusCode() / 100 != 2) throw new IOException(method + " " + path + " at " + base + ": HTTP " + r.statusCode() + " " + r.body());
        return Optional.of(r.body().isBlank() ? new JsonArray() : JsonParser.parseString(r.body()));
    }
}
