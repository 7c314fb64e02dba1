package org.phonelm.demo.app;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;
import org.phonelm.demo.core.FunctionSchema;
import org.phonelm.demo.core.Prompts;

/**
 * The app bundle that `phonelm-export android` writes (phonelm-app.json + functions.json + model/),
 * read from the app's external files dir, or the copy packaged in assets (the logic-only APK).
 */
public final class AppConfig {
    public final File bundleDir; // null when read from assets
    public final JSONObject json;
    public final FunctionSchema schema;
    public final Prompts prompts;

    AppConfig(File bundleDir, JSONObject json, FunctionSchema schema) throws JSONException {
        this.bundleDir = bundleDir;
        this.json = json;
        this.schema = schema;
        JSONObject p = json.optJSONObject("prompts");
        this.prompts = p != null && p.optJSONObject("call") != null ? Prompts.fromJson(p.getJSONObject("call")) : Prompts.defaults();
    }

    static String readAll(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) out.write(buf, 0, n);
        in.close();
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    /** The newest bundle under files/models/, or null. */
    static AppConfig fromModelsDir(File modelsDir) throws IOException, JSONException {
        File[] dirs = modelsDir.listFiles();
        File best = null;
        if (dirs != null)
            for (File d : dirs)
                if (new File(d, "phonelm-app.json").isFile() && (best == null || d.lastModified() > best.lastModified())) best = d;
        if (best == null) return null;
        JSONObject cfg = new JSONObject(readAll(new java.io.FileInputStream(new File(best, "phonelm-app.json"))));
        String functions = readAll(new java.io.FileInputStream(new File(best, cfg.getJSONObject("intents").optString("functions_file", "functions.json"))));
        return new AppConfig(best, cfg, FunctionSchema.fromJson(functions));
    }

    static AppConfig fromAssets(android.content.res.AssetManager assets) throws IOException, JSONException {
        JSONObject cfg = new JSONObject(readAll(assets.open("phonelm-app.json")));
        return new AppConfig(null, cfg, FunctionSchema.fromJson(readAll(assets.open("functions.json"))));
    }

    public String engine() {
        return json.optString("engine", "replay");
    }

    public File file(String key) {
        String rel = json.optString(key, null);
        return rel == null || bundleDir == null ? null : new File(bundleDir, rel);
    }

    public int maxNewTokens() {
        JSONObject s = json.optJSONObject("sampling");
        return s == null ? 160 : s.optInt("max_new_tokens", 160);
    }

    public int retrievalK() {
        JSONObject i = json.optJSONObject("intents");
        return i == null ? 3 : i.optInt("retrieval_k", 3);
    }

    /** query -> recorded model output, for the replay engine. */
    public Map<String, String> replayAnswers() throws JSONException {
        Map<String, String> out = new LinkedHashMap<String, String>();
        JSONArray r = json.optJSONArray("replay");
        if (r != null)
            for (int k = 0; k < r.length(); k++) out.put(r.getJSONObject(k).getString("query"), r.getJSONObject(k).getString("output"));
        return out;
    }
}
