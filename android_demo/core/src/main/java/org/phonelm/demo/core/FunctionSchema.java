package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

/**
 * The DroidCall functions, read from the same {@code functions.json} the Python package ships
 * (the app gets a copy in its config), and their prompt docs.
 */
public final class FunctionSchema {
    public static final String INDENT = "    ";

    /** One argument of a function. */
    public static final class Arg {
        public final String name, type, description;
        public final boolean required;
        public final Object defaultValue;
        public final List<String> choices; // null when free

        Arg(String name, String type, boolean required, String description, Object defaultValue, List<String> choices) {
            this.name = name;
            this.type = type;
            this.required = required;
            this.description = description;
            this.defaultValue = defaultValue;
            this.choices = choices;
        }
    }

    /** One function: name, description, arguments, return value, examples and retrieval keywords. */
    public static final class Function {
        public final String name, description, returnsType, returnsDescription, keywords;
        public final List<Arg> args;
        public final List<String> examples;

        Function(String name, String description, List<Arg> args, String returnsType, String returnsDescription,
                 List<String> examples, String keywords) {
            this.name = name;
            this.description = description;
            this.args = args;
            this.returnsType = returnsType;
            this.returnsDescription = returnsDescription;
            this.examples = examples;
            this.keywords = keywords;
        }

        public Arg arg(String n) {
            for (Arg a : args) if (a.name.equals(n)) return a;
            return null;
        }
    }

    private final Map<String, Function> functions;

    private FunctionSchema(Map<String, Function> functions) {
        this.functions = functions;
    }

    /** Parse the text of functions.json. */
    public static FunctionSchema fromJson(String text) throws JSONException {
        JSONArray list = new JSONObject(text).getJSONArray("functions");
        Map<String, Function> out = new LinkedHashMap<String, Function>();
        for (int k = 0; k < list.length(); k++) {
            JSONObject f = list.getJSONObject(k);
            List<Arg> args = new ArrayList<Arg>();
            JSONArray as = f.getJSONArray("args");
            for (int j = 0; j < as.length(); j++) {
                JSONObject a = as.getJSONObject(j);
                List<String> choices = null;
                if (a.has("choices")) {
                    choices = new ArrayList<String>();
                    JSONArray cs = a.getJSONArray("choices");
                    for (int c = 0; c < cs.length(); c++) choices.add(cs.getString(c));
                }
                Object def = a.has("default") ? Values.fromOrgJson(a.get("default")) : null;
                args.add(new Arg(a.getString("name"), a.getString("type"), a.getBoolean("required"),
                        a.getString("description"), def, choices));
            }
            List<String> examples = new ArrayList<String>();
            JSONArray ex = f.getJSONArray("examples");
            for (int j = 0; j < ex.length(); j++) examples.add(ex.getString(j));
            JSONObject ret = f.getJSONObject("returns");
            out.put(f.getString("name"), new Function(f.getString("name"), f.getString("description"),
                    Collections.unmodifiableList(args), ret.getString("type"), ret.getString("description"),
                    Collections.unmodifiableList(examples), f.optString("keywords", "")));
        }
        return new FunctionSchema(Collections.unmodifiableMap(out));
    }

    public Function get(String name) {
        return functions.get(name);
    }

    public List<String> names() {
        return new ArrayList<String>(functions.keySet());
    }

    /** The doc block the Call prompt shows for a function (sections Name/Description/Args/Returns/Example). */
    public String renderDoc(String name) {
        Function f = functions.get(name);
        if (f == null) throw new IllegalArgumentException("unknown function " + name);
        StringBuilder sb = new StringBuilder();
        sb.append("Name:\n").append(INDENT).append(f.name).append("\nDescription:\n").append(INDENT)
                .append(f.description).append("\nArgs:\n");
        if (f.args.isEmpty()) sb.append(INDENT).append("None\n");
        for (Arg a : f.args) {
            sb.append(INDENT).append(a.name).append(" (").append(a.type).append(a.required ? "" : ", optional").append("): ")
                    .append(a.description);
            if (!a.required) sb.append(" Defaults to ").append(Values.render(a.defaultValue)).append('.');
            sb.append('\n');
        }
        sb.append("Returns:\n").append(INDENT)
                .append("None".equals(f.returnsType) ? "None" : f.returnsType + ": " + f.returnsDescription)
                .append("\nExample:");
        for (String e : f.examples) sb.append('\n').append(INDENT).append(e);
        return sb.toString();
    }
}
