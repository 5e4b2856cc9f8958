package dev.hmem.cli.cluster;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of Flink's REST API that {@code flink run}, {@code flink stop} and {@code flink cancel}
 * use: upload a jar and run it (with a savepoint to start from), stop with a savepoint, cancel,
 * and read job, checkpoint, TaskManager and metric state. Errors carry the JobManager's own message.
 */
public final class FlinkRest {

    private static final Gson GSON = new Gson();

    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public FlinkRest(String address) {
        this.base = address.endsWith("/") ? address.substring(0, address.length() - 1) : address;
    }

    public String address() {
        return base;
    }

    private JsonElement send(HttpRequest.Builder b, String what) throws IOException {
        HttpResponse<String> r;
        try {
            r = http.send(b.timeout(Duration.ofMinutes(2)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + what, e);
        }
        if (r.statusCode() / 100 != 2) {
            throw new IOException(what + " failed: HTTP " + r.statusCode() + ": " + rootCause(r.body()));
        }
        return r.body().isBlank() ? new JsonObject() : JsonParser.parseString(r.body());
    }

    /** The innermost "Caused by" of a Flink error response (its stack traces run to pages). */
    static String rootCause(String body) {
        String text;
        try {
            JsonArray errors = JsonParser.parseString(body).getAsJsonObject().getAsJsonArray("errors");
            text = errors.isEmpty() ? body : errors.get(0).getAsString();
        } catch (RuntimeException notJson) {
            text = body;
        }
        String cause = text.lines().findFirst().orElse(text);
        for (String line : text.lines().toList()) if (line.startsWith("Caused by: ")) cause = line.substring(11);
        return cause;
    }

    private JsonObject get(String path) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET(), "GET " + path).getAsJsonObject();
    }

    private JsonObject post(String path, Object body) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(GSON.toJson(body))), "POST " + path).getAsJsonObject();
    }

    /** Whether the JobManager answers, and its overview (TaskManagers, slots, jobs). */
    public Optional<JsonObject> overview() {
        try {
            return Optional.of(get("/overview"));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Uploads a job jar (multipart, as the web UI does); returns the jar id to run it by. */
    public String uploadJar(Path jar) throws IOException {
        String boundary = "hmem" + System.nanoTime();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName() + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        JsonObject r = send(HttpRequest.newBuilder(URI.create(base + "/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())), "uploading " + jar).getAsJsonObject();
        String file = r.get("filename").getAsString();
        return Path.of(file).getFileName().toString();
    }

    /** Runs an uploaded jar's {@code entryClass} with {@code args}; {@code savepoint} (or null) to start from. */
    public String run(String jarId, String entryClass, List<String> args, String savepoint) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("entryClass", entryClass);
        body.put("programArgsList", args);
        if (savepoint != null) {
            body.put("savepointPath", savepoint);
            body.put("allowNonRestoredState", false);
        }
        return post("/jars/" + jarId + "/run", body).get("jobid").getAsString();
    }

    /** The job's state: CREATED, RUNNING, FAILING, FAILED, CANCELED, FINISHED, RESTARTING, ... */
    public String state(String jobId) throws IOException {
        return get("/jobs/" + jobId).get("state").getAsString();
    }

    public JsonObject job(String jobId) throws IOException {
        return get("/jobs/" + jobId);
    }

    /** Whether every task of the job is RUNNING (a job can be RUNNING while its tasks still deploy). */
    public boolean allTasksRunning(String jobId) throws IOException {
        JsonObject j = job(jobId);
        if (!j.get("state").getAsString().equals("RUNNING")) return false;
        for (JsonElement v : j.getAsJsonArray("vertices")) {
            JsonObject counts = v.getAsJsonObject().getAsJsonObject("tasks");
            int running = counts.get("RUNNING").getAsInt() + counts.get("FINISHED").getAsInt();
            if (running < v.getAsJsonObject().get("parallelism").getAsInt()) return false;
        }
        return true;
    }

    /** Stops the job with a savepoint into {@code dir} (null: the configured default); returns its path. */
    public String stopWithSavepoint(String jobId, String dir, Duration timeout) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        if (dir != null) body.put("targetDirectory", dir);
        body.put("drain", false);
        String trigger = post("/jobs/" + jobId + "/stop", body).get("request-id").getAsString();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonObject s = get("/jobs/" + jobId + "/savepoints/" + trigger);
            if (s.getAsJsonObject("status").get("id").getAsString().equals("COMPLETED")) {
                JsonObject op = s.getAsJsonObject("operation");
                if (op.has("failure-cause")) {
                    throw new IOException("stop-with-savepoint of " + jobId + " failed: " + op.get("failure-cause"));
                }
                return op.get("location").getAsString();
            }
            sleep(200);
        }
        throw new IOException("stop-with-savepoint of " + jobId + " did not complete within " + timeout.toSeconds() + " s");
    }

    public void cancel(String jobId) throws IOException {
        send(HttpRequest.newBuilder(URI.create(base + "/jobs/" + jobId + "?mode=cancel"))
                .method("PATCH", HttpRequest.BodyPublishers.noBody()), "cancelling " + jobId);
    }

    /** Path of the latest completed checkpoint that is retained on storage, if any. */
    public Optional<String> latestCheckpoint(String jobId) throws IOException {
        JsonObject latest = get("/jobs/" + jobId + "/checkpoints").getAsJsonObject("latest");
        if (latest == null || latest.get("completed") == null || latest.get("completed").isJsonNull()) return Optional.empty();
        JsonElement path = latest.getAsJsonObject("completed").get("external_path");
        return path == null || path.isJsonNull() ? Optional.empty() : Optional.of(path.getAsString());
    }

    /** Recent completed checkpoints: (id, duration ms, state size bytes, alignment/persisted bytes). */
    public JsonArray checkpointHistory(String jobId) throws IOException {
        return get("/jobs/" + jobId + "/checkpoints").getAsJsonArray("history");
    }

    /** The job's root exception, the reason it failed or last restarted. */
    public Optional<String> rootException(String jobId) throws IOException {
        JsonObject e = get("/jobs/" + jobId + "/exceptions");
        JsonElement root = e.has("root-exception") ? e.get("root-exception") : null;
        return root == null || root.isJsonNull() ? Optional.empty() : Optional.of(root.getAsString());
    }

    /** Ids of the jobs the cluster knows, with their state. */
    public Map<String, String> jobs() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonElement j : get("/jobs").getAsJsonArray("jobs")) {
            out.put(j.getAsJsonObject().get("id").getAsString(), j.getAsJsonObject().get("status").getAsString());
        }
        return out;
    }

    /** The id of the job's vertex whose name contains {@code name} ("generate"). */
    public Optional<String> vertex(String jobId, String name) throws IOException {
        for (JsonElement v : job(jobId).getAsJsonArray("vertices")) {
            if (v.getAsJsonObject().get("name").getAsString().contains(name)) return Optional.of(v.getAsJsonObject().get("id").getAsString());
        }
        return Optional.empty();
    }

    /** Names of the metrics a vertex's subtasks report. */
    public List<String> metricNames(String jobId, String vertexId) throws IOException {
        JsonArray a = send(HttpRequest.newBuilder(URI.create(base + "/jobs/" + jobId + "/vertices/" + vertexId + "/subtasks/metrics")).GET(),
                "metric names").getAsJsonArray();
        List<String> out = new java.util.ArrayList<>();
        for (JsonElement e : a) out.add(e.getAsJsonObject().get("id").getAsString());
        return out;
    }

    /** Each metric summed over the vertex's subtasks. */
    public Map<String, Double> metricSums(String jobId, String vertexId, List<String> names) throws IOException {
        return sums(jobId, vertexId, names, "");
    }

    /** The vertex's parallelism (how many subtasks it runs). */
    public int parallelism(String jobId, String vertexId) throws IOException {
        for (JsonElement v : job(jobId).getAsJsonArray("vertices")) {
            if (v.getAsJsonObject().get("id").getAsString().equals(vertexId)) return v.getAsJsonObject().get("parallelism").getAsInt();
        }
        throw new IOException("no vertex " + vertexId + " in job " + jobId);
    }

    /** The named metrics of one subtask (those it reports; the others are absent), from the JobManager's metric store. */
    public Map<String, Double> subtaskMetrics(String jobId, String vertexId, int subtask, List<String> names) throws IOException {
        return sums(jobId, vertexId, names, "&subtasks=" + subtask);
    }

    /** The aggregating metrics endpoint's sums, over the subtasks {@code filter} selects (empty = all). */
    private Map<String, Double> sums(String jobId, String vertexId, List<String> names, String filter) throws IOException {
        Map<String, Double> out = new LinkedHashMap<>();
        if (names.isEmpty()) return out;
        String q = java.net.URLEncoder.encode(String.join(",", names), StandardCharsets.UTF_8);
        JsonArray a = send(HttpRequest.newBuilder(URI.create(base + "/jobs/" + jobId + "/vertices/" + vertexId
                + "/subtasks/metrics?agg=sum" + filter + "&get=" + q)).GET(), "metrics").getAsJsonArray();
        for (JsonElement e : a) {
            JsonObject o = e.getAsJsonObject();
            if (o.has("sum")) out.put(o.get("id").getAsString(), o.get("sum").getAsDouble());
        }
        return out;
    }

    /** Registered TaskManagers: id to their data port and slots. */
    public JsonArray taskManagers() throws IOException {
        return get("/taskmanagers").getAsJsonArray("taskmanagers");
    }

    private static void sleep(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
