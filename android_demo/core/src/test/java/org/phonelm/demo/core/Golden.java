package org.phonelm.demo.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

import org.json.JSONException;
import org.json.JSONObject;

/** The shared golden files (tests/golden/intents) and functions.json, located by system properties. */
final class Golden {
    private Golden() {}

    static String read(String path) throws IOException {
        return new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
    }

    static String dir() {
        String d = System.getProperty("phonelm.golden");
        if (d == null) throw new IllegalStateException("set -Dphonelm.golden=<repo>/tests/golden/intents");
        return d;
    }

    static JSONObject load(String name) throws IOException, JSONException {
        return new JSONObject(read(dir() + "/" + name));
    }

    static FunctionSchema schema() throws IOException, JSONException {
        String f = System.getProperty("phonelm.functions");
        if (f == null) throw new IllegalStateException("set -Dphonelm.functions=<repo>/phonelm_export/intents/data/functions.json");
        return FunctionSchema.fromJson(read(f));
    }
}
