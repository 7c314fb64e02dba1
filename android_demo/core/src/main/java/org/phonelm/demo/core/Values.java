package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Helpers on argument values shared by the parser, mapper and tests (same rules as the Python package). */
public final class Values {
    /** The whitespace strip() removes on both sides (Python uses the same set). */
    public static final String WHITESPACE = " \t\n\r\f\u000b";

    private Values() {}

    public static boolean isSpace(char c) {
        return WHITESPACE.indexOf(c) >= 0;
    }

    public static String strip(String s) {
        int a = 0, b = s.length();
        while (a < b && isSpace(s.charAt(a))) a++;
        while (b > a && isSpace(s.charAt(b - 1))) b--;
        return s.substring(a, b);
    }

    public static String rstrip(String s) {
        int b = s.length();
        while (b > 0 && isSpace(s.charAt(b - 1))) b--;
        return s.substring(0, b);
    }

    /** The type word used in error messages: None, bool, int, float, str, list, dict. */
    public static String typeName(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean) return "bool";
        if (v instanceof Long || v instanceof Integer) return "int";
        if (v instanceof Double) return "float";
        if (v instanceof String) return "str";
        if (v instanceof List) return "list";
        if (v instanceof Map) return "dict";
        return v.getClass().getSimpleName();
    }

    /** JSON string literal, escaping like Python's json.dumps(ensure_ascii=False). */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                default:
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** A value as the model writes it: JSON strings/lists/dicts, Python True/False/None, bare refs. */
    @SuppressWarnings("unchecked")
    public static String render(Object v) {
        if (v instanceof ResultRef) return v.toString();
        if (v == null) return "None";
        if (v instanceof Boolean) return ((Boolean) v) ? "True" : "False";
        if (v instanceof String) return quote((String) v);
        if (v instanceof Long || v instanceof Integer) return String.valueOf(((Number) v).longValue());
        if (v instanceof Double) return pyFloat((Double) v);
        if (v instanceof List) {
            StringBuilder sb = new StringBuilder("[");
            boolean first = true;
            for (Object x : (List<Object>) v) {
                if (!first) sb.append(", ");
                first = false;
                sb.append(render(x));
            }
            return sb.append(']').toString();
        }
        if (v instanceof Map) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                if (!first) sb.append(", ");
                first = false;
                sb.append(quote(e.getKey())).append(": ").append(render(e.getValue()));
            }
            return sb.append('}').toString();
        }
        throw new IllegalArgumentException("cannot render " + v.getClass());
    }

    private static String pyFloat(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e16) return String.valueOf((long) d) + ".0";
        return String.valueOf(d);
    }

    /** JSON-safe form of a value: references become {"$ref": n}. */
    @SuppressWarnings("unchecked")
    public static Object toJson(Object v) {
        if (v instanceof ResultRef) {
            Map<String, Object> m = new LinkedHashMap<String, Object>();
            m.put("$ref", (long) ((ResultRef) v).n);
            return m;
        }
        if (v instanceof List) {
            List<Object> out = new ArrayList<Object>();
            for (Object x : (List<Object>) v) out.add(toJson(x));
            return out;
        }
        if (v instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<String, Object>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) out.put(e.getKey(), toJson(e.getValue()));
            return out;
        }
        if (v instanceof Integer) return (long) (Integer) v;
        return v;
    }

    /** org.json values (JSONObject, JSONArray, JSONObject.NULL, numbers) as plain Java maps, lists and Longs. */
    public static Object fromOrgJson(Object v) {
        if (v == null || v == org.json.JSONObject.NULL) return null;
        if (v instanceof org.json.JSONObject) {
            org.json.JSONObject o = (org.json.JSONObject) v;
            Map<String, Object> out = new LinkedHashMap<String, Object>();
            Iterator<String> it = o.keys();
            while (it.hasNext()) {
                String k = it.next();
                out.put(k, fromOrgJson(o.opt(k)));
            }
            return out;
        }
        if (v instanceof org.json.JSONArray) {
            org.json.JSONArray a = (org.json.JSONArray) v;
            List<Object> out = new ArrayList<Object>();
            for (int i = 0; i < a.length(); i++) out.add(fromOrgJson(a.opt(i)));
            return out;
        }
        if (v instanceof Integer || v instanceof Long) return ((Number) v).longValue();
        if (v instanceof Float) return ((Float) v).doubleValue();
        return v;
    }

    /** Structural equality where an integral number never equals a floating one (as in the golden files). */
    @SuppressWarnings("unchecked")
    public static boolean deepEquals(Object a, Object b) {
        if (a == null || b == null) return a == b;
        if (a instanceof Number && b instanceof Number) {
            boolean fa = a instanceof Double || a instanceof Float, fb = b instanceof Double || b instanceof Float;
            if (fa != fb) return false;
            return fa ? ((Number) a).doubleValue() == ((Number) b).doubleValue() : ((Number) a).longValue() == ((Number) b).longValue();
        }
        if (a instanceof List && b instanceof List) {
            List<Object> x = (List<Object>) a, y = (List<Object>) b;
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!deepEquals(x.get(i), y.get(i))) return false;
            return true;
        }
        if (a instanceof Map && b instanceof Map) {
            Map<String, Object> x = (Map<String, Object>) a, y = (Map<String, Object>) b;
            if (!x.keySet().equals(y.keySet())) return false;
            for (String k : x.keySet()) if (!deepEquals(x.get(k), y.get(k))) return false;
            return true;
        }
        return a.equals(b);
    }
}
