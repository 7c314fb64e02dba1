package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;

/**
 * The GBNF grammar of the Call outputs that are valid for one request and its docs: the twin of
 * the Python package's {@code phonelm_export/intents/grammar.py}, producing the byte-identical text
 * (golden vectors in {@code tests/golden/intents/grammar.json}). The llama.cpp engine hands it to
 * llama.cpp's grammar sampler, so the model can only write calls that parse and map, with the
 * values marked verbatim in {@code verbatim.json} copied from the request text.
 *
 * <p>See the Python module for the rules themselves; every helper here mirrors one there. Text
 * positions count code points, as Python's {@code str} does.
 */
public final class CallGrammar {
    public static final String VERSION = "phonelm-call-grammar v1";
    private static final String[] WEEKDAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

    /** No valid call exists for this request with these docs (e.g. an empty request). */
    public static final class NoValidCallException extends Exception {
        private static final long serialVersionUID = 1L;

        NoValidCallException(String message) {
            super(message);
        }
    }

    private final FunctionSchema schema;
    private final JSONObject args;
    private final int maxCalls;
    private final int maxChars;

    /** {@code verbatimJson}: the text of verbatim.json (the value shape of every argument). */
    public CallGrammar(FunctionSchema schema, String verbatimJson) throws JSONException {
        JSONObject root = new JSONObject(verbatimJson);
        this.schema = schema;
        this.args = root.getJSONObject("args");
        this.maxCalls = root.getInt("max_calls");
        this.maxChars = root.getInt("max_chars");
    }

    /** The GBNF text for {@code query} with the docs of {@code functions} shown (in that order). */
    public String build(String query, List<String> functions) throws NoValidCallException, JSONException {
        List<FunctionSchema.Function> fns = new ArrayList<FunctionSchema.Function>();
        for (String n : new LinkedHashSet<String>(functions)) {
            FunctionSchema.Function f = schema.get(n);
            if (f == null) throw new IllegalArgumentException("unknown function " + n);
            fns.add(f);
        }
        return new Builder(query, fns).text();
    }

    // --- text helpers (each mirrors the Python function of the same name) ---------------------------

    static String jsonChar(int cp) {
        switch (cp) {
            case '"': return "\\\"";
            case '\\': return "\\\\";
            case '\n': return "\\n";
            case '\r': return "\\r";
            case '\t': return "\\t";
            case '\b': return "\\b";
            case '\f': return "\\f";
            default:
                if (cp < 0x20) return String.format("\\u%04x", cp);
                return new String(Character.toChars(cp));
        }
    }

    static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int k = 0; k < s.length(); ) {
            int cp = s.codePointAt(k);
            sb.append(jsonChar(cp));
            k += Character.charCount(cp);
        }
        return sb.append('"').toString();
    }

    static String literal(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static boolean isWordChar(int cp) {
        switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER:
            case Character.LOWERCASE_LETTER:
            case Character.TITLECASE_LETTER:
            case Character.MODIFIER_LETTER:
            case Character.OTHER_LETTER:
            case Character.DECIMAL_DIGIT_NUMBER:
            case Character.NON_SPACING_MARK:
            case Character.COMBINING_SPACING_MARK:
                return true;
            default:
                return false;
        }
    }

    private static boolean isSpace(int cp) {
        return cp < 0x10000 && Values.WHITESPACE.indexOf(cp) >= 0;
    }

    static int[] codePoints(String s) {
        int[] out = new int[s.codePointCount(0, s.length())];
        int j = 0;
        for (int k = 0; k < s.length(); ) {
            int cp = s.codePointAt(k);
            out[j++] = cp;
            k += Character.charCount(cp);
        }
        return out;
    }

    private static boolean isApostrophe(int cp) {
        return cp == '\'' || cp == 0x2019;
    }

    /** t[a] is the apostrophe of a contraction: between word characters, and not a possessive "'s". */
    private static boolean apostropheInside(int[] t, int a) {
        int n = t.length;
        if (!(0 < a && a < n - 1 && isApostrophe(t[a]) && isWordChar(t[a - 1]) && isWordChar(t[a + 1]))) return false;
        return !((t[a + 1] == 's' || t[a + 1] == 'S') && (a + 2 == n || !isWordChar(t[a + 2])));
    }

    /** Positions i - 1 and i are inside one word (mirrors Python's _joined). */
    static boolean joined(int[] t, int i) {
        if (!(0 < i && i < t.length)) return false;
        if (isWordChar(t[i - 1]) && isWordChar(t[i])) return true;
        return apostropheInside(t, i) || apostropheInside(t, i - 1);
    }

    static List<Integer> spanStarts(int[] t) {
        List<Integer> out = new ArrayList<Integer>();
        for (int i = 0; i < t.length; i++) if (!isSpace(t[i]) && !joined(t, i)) out.add(i);
        return out;
    }

    static Set<Integer> spanEnds(int[] t) {
        Set<Integer> out = new HashSet<Integer>();
        for (int j = 1; j <= t.length; j++) if (!isSpace(t[j - 1]) && !joined(t, j)) out.add(j);
        return out;
    }

    private static String firstChar(int cp) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) {
            return "[" + Character.toLowerCase((char) cp) + Character.toUpperCase((char) cp) + "]";
        }
        return literal(jsonChar(cp));
    }

    private static String digits(int a, int b) {
        return a == b ? "[" + a + "]" : "[" + a + "-" + b + "]";
    }

    static String intRange(int lo, int hi) {
        if (!(0 <= lo && lo <= hi && hi <= 99)) throw new IllegalArgumentException("int range " + lo + ".." + hi + " is not within 0..99");
        List<String> alts = new ArrayList<String>();
        if (lo <= 9) alts.add(digits(lo, Math.min(hi, 9)));
        List<int[]> tens = new ArrayList<int[]>();
        for (int t = Math.max(1, lo / 10); t <= hi / 10; t++) {
            int u0 = Math.max(0, lo - 10 * t), u1 = Math.min(9, hi - 10 * t);
            if (u0 <= u1) tens.add(new int[] {t, u0, u1});
        }
        int k = 0;
        while (k < tens.size()) {
            int[] x = tens.get(k);
            if (x[1] == 0 && x[2] == 9) {
                int e = k;
                while (e + 1 < tens.size() && tens.get(e + 1)[1] == 0 && tens.get(e + 1)[2] == 9) e++;
                alts.add(digits(x[0], tens.get(e)[0]) + " [0-9]");
                k = e + 1;
            } else {
                alts.add("[" + x[0] + "] " + digits(x[1], x[2]));
                k++;
            }
        }
        return String.join(" | ", alts);
    }

    static String ruleName(String text) {
        return text.toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    // --- shared value rules ----------------------------------------------------------------------

    private static Map<String, String> isoRules() {
        Map<String, String> m = new TreeMap<String, String>();
        m.put("iso8601", "\"\\\"\" date ( \"T\" clock )? \"\\\"\"");
        m.put("date", "year \"-\" month-day | leap-year \"-02-29\"");
        m.put("year", "\"20\" [0-9] [0-9]");
        m.put("leap-year", "\"20\" ( [02468] [048] | [13579] [26] )");
        m.put("month-day", "( \"01\" | \"03\" | \"05\" | \"07\" | \"08\" | \"10\" | \"12\" ) \"-\" day31 "
                + "| ( \"04\" | \"06\" | \"09\" | \"11\" ) \"-\" day30 | \"02-\" day28");
        m.put("day31", "\"0\" [1-9] | [12] [0-9] | \"3\" [01]");
        m.put("day30", "\"0\" [1-9] | [12] [0-9] | \"30\"");
        m.put("day28", "\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8]");
        m.put("clock", "( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] \":\" [0-5] [0-9]");
        return m;
    }

    private static Map<String, String> durationRules() {
        Map<String, String> m = new TreeMap<String, String>();
        m.put("duration", "\"\\\"\" ( dur-hours ( \" \" dur-minutes )? ( \" \" dur-seconds )? "
                + "| dur-minutes-60 \" minutes\" ( \" \" dur-seconds )? | dur-seconds-alone \" seconds\" ) \"\\\"\"");
        m.put("dur-hours", "( [1-9] | \"1\" [0-9] | \"2\" [0-3] ) \" hours\"");
        m.put("dur-minutes", "dur-minutes-60 \" minutes\"");
        m.put("dur-seconds", "dur-minutes-60 \" seconds\"");
        m.put("dur-minutes-60", "[1-9] | [1-5] [0-9]");
        m.put("dur-seconds-alone", "[1-9] [0-9]? [0-9]? [0-9]?");
        return m;
    }

    private static Map<String, String> textRules(int maxChars) {
        Map<String, String> m = new TreeMap<String, String>();
        m.put("text", "\"\\\"\" text-first text-char{0," + (maxChars - 1) + "} \"\\\"\"");
        m.put("text-first", "[^\"\\\\\\x00-\\x20] | \"\\\\\\\"\" | \"\\\\\\\\\"");
        m.put("text-char", "[^\"\\\\\\x00-\\x1f] | \"\\\\\\\"\" | \"\\\\\\\\\"");
        return m;
    }

    private static Map<String, String> mimeRules() {
        Map<String, String> m = new TreeMap<String, String>();
        m.put("mime", "\"\\\"\" mime-part \"/\" mime-part \"\\\"\"");
        m.put("mime-part", "\"*\" | [a-zA-Z0-9] [a-zA-Z0-9.+_-]{0,39}");
        return m;
    }

    private static boolean takesRefs(JSONObject spec) {
        return spec.optBoolean("refs", false)
                || (spec.has("items") && spec.optJSONObject("items").optBoolean("refs", false))
                || (spec.has("values") && spec.optJSONObject("values").optBoolean("refs", false));
    }

    private final class Builder {
        final int[] q;
        final List<FunctionSchema.Function> functions;
        final Map<String, String> rules = new HashMap<String, String>();
        final List<Integer> starts;
        final Set<Integer> ends;

        Builder(String query, List<FunctionSchema.Function> functions) {
            this.q = codePoints(query);
            this.functions = functions;
            this.starts = spanStarts(q);
            this.ends = spanEnds(q);
        }

        String add(String name, String body) {
            String old = rules.get(name);
            if (old != null && !old.equals(body)) throw new IllegalStateException("rule " + name + " defined twice");
            rules.put(name, body);
            return name;
        }

        void addAll(Map<String, String> m) {
            for (Map.Entry<String, String> e : m.entrySet()) add(e.getKey(), e.getValue());
        }

        String spanBody() {
            int maxEnd = 0;
            for (int e : ends) maxEnd = Math.max(maxEnd, e);
            List<Integer> ok = new ArrayList<Integer>();
            for (int i : starts) if (i + 1 <= maxEnd) ok.add(i);
            if (ok.isEmpty()) return null;
            if (!rules.containsKey("span-body")) {
                Map<Integer, String> cont = new HashMap<Integer, String>();
                cont.put(maxEnd, "");
                for (int j = maxEnd - 1; j > 0; j--) {
                    String next = cont.get(j + 1);
                    String more = literal(jsonChar(q[j])) + (next.isEmpty() ? "" : " " + next);
                    cont.put(j, add("q" + j, ends.contains(j) ? "( " + more + " )?" : more));
                }
                List<String> alts = new ArrayList<String>();
                for (int i : ok) {
                    String first = firstChar(q[i]);
                    String next = cont.get(i + 1);
                    alts.add(next != null && !next.isEmpty() ? first + " " + next : first);
                }
                add("span-body", String.join(" | ", alts));
            }
            return "span-body";
        }

        String refs(int mask) {
            List<String> ids = new ArrayList<String>();
            for (int k = 0; k < maxCalls; k++) if ((mask >> k & 1) != 0) ids.add(literal("result" + k));
            if (ids.isEmpty()) return null;
            return add("ref-r" + mask, String.join(" | ", ids));
        }

        String scalar(FunctionSchema.Function fn, FunctionSchema.Arg arg, JSONObject spec, int mask, String name) throws JSONException {
            String kind = spec.getString("kind");
            List<String> alts = new ArrayList<String>();
            if (kind.equals("int")) {
                int lo = spec.getInt("min"), hi = spec.getInt("max");
                alts.add(add("int-" + lo + "-" + hi, intRange(lo, hi)));
            } else if (kind.equals("bool")) {
                alts.add(add("bool", "\"True\" | \"False\""));
            } else if (kind.equals("choice")) {
                if (arg.choices == null) throw new IllegalStateException(fn.name + "." + arg.name + ": kind choice without schema choices");
                List<String> cs = new ArrayList<String>();
                for (String c : arg.choices) cs.add(literal(jsonString(c)));
                alts.add(add(name + "-choice", String.join(" | ", cs)));
            } else if (kind.equals("weekday")) {
                List<String> ds = new ArrayList<String>();
                for (String d : WEEKDAYS) ds.add(literal("\"" + d + "\""));
                alts.add(add("weekday", String.join(" | ", ds)));
            } else if (kind.equals("span") || kind.equals("span_or_empty")) {
                String body = spanBody();
                if (body != null) alts.add(add("span", "\"\\\"\" " + body + " \"\\\"\""));
                if (kind.equals("span_or_empty")) alts.add("\"\\\"\\\"\"");
            } else if (kind.equals("text")) {
                addAll(textRules(maxChars));
                alts.add("text");
            } else if (kind.equals("iso8601")) {
                addAll(isoRules());
                alts.add("iso8601");
            } else if (kind.equals("duration")) {
                addAll(durationRules());
                alts.add("duration");
            } else if (kind.equals("mime")) {
                addAll(mimeRules());
                alts.add("mime");
            } else {
                throw new IllegalStateException(fn.name + "." + arg.name + ": unknown value kind " + kind);
            }
            if (spec.optBoolean("refs", false)) {
                String ref = refs(mask);
                if (ref != null) alts.add(ref);
            }
            return alts.isEmpty() ? null : String.join(" | ", alts);
        }

        String value(FunctionSchema.Function fn, FunctionSchema.Arg arg, int mask, String name) throws JSONException {
            JSONObject spec = args.getJSONObject(fn.name).getJSONObject(arg.name);
            String body;
            if (spec.has("items")) {
                String item = scalar(fn, arg, spec.getJSONObject("items"), mask, name);
                if (item == null) {
                    body = null;
                } else {
                    String itemRule = add(name + "-item", item);
                    body = "\"[\" " + itemRule + " ( \", \" " + itemRule + " ){0," + (spec.getInt("max_items") - 1) + "} \"]\"";
                }
            } else if (spec.has("keys")) {
                String val = scalar(fn, arg, spec.getJSONObject("values"), mask, name);
                if (val == null) {
                    body = null;
                } else {
                    String valRule = add(name + "-value", val);
                    JSONArray ks = spec.getJSONArray("keys");
                    List<String> keys = new ArrayList<String>();
                    List<Boolean> req = new ArrayList<Boolean>();
                    for (int k = 0; k < ks.length(); k++) {
                        keys.add(literal(jsonString(ks.getString(k)) + ": ") + " " + valRule);
                        req.add(false);
                    }
                    body = "\"{\" " + chain(keys, req, name + "-key", null) + " \"}\"";
                }
            } else {
                body = scalar(fn, arg, spec, mask, name);
            }
            if (!arg.required && arg.defaultValue == null) body = body == null ? "\"None\"" : body + " | \"None\"";
            return body == null ? null : add(name, body);
        }

        String chain(List<String> items, List<Boolean> required, String prefix, List<String> suffixes) {
            int n = items.size();
            if (suffixes == null) suffixes = Collections.nCopies(n, "");
            String[] tails = new String[n + 1];
            for (int i = n - 1; i > 0; i--) {
                String part = "\", \" " + items.get(i);
                String rest = tails[i + 1] != null ? " " + tails[i + 1] : "";
                String suffix = "";
                for (int j = i; j < n; j++) if (!suffixes.get(j).isEmpty()) { suffix = suffixes.get(j); break; }
                tails[i] = add(prefix + "-" + i + suffix, required.get(i) ? part + rest : "( " + part + " )?" + rest);
            }
            List<String> alts = new ArrayList<String>();
            for (int i = 0; i < n; i++) {
                alts.add(items.get(i) + (tails[i + 1] != null ? " " + tails[i + 1] : ""));
                if (required.get(i)) break;
            }
            String head = String.join(" | ", alts);
            return alts.size() > 1 ? "( " + head + " )" : head;
        }

        String call(FunctionSchema.Function fn, int mask) throws JSONException {
            String base = ruleName(fn.name);
            JSONObject specs = args.optJSONObject(fn.name);
            List<String> items = new ArrayList<String>(), suffixes = new ArrayList<String>();
            List<Boolean> required = new ArrayList<Boolean>();
            for (FunctionSchema.Arg a : fn.args) {
                String suffix = mask != 0 && takesRefs(specs.getJSONObject(a.name)) ? "-r" + mask : "";
                String v = value(fn, a, mask, base + "-" + ruleName(a.name) + suffix);
                if (v == null) {
                    if (a.required) return null;
                    continue;
                }
                items.add(literal(a.name + "=") + " " + v);
                required.add(a.required);
                suffixes.add(suffix);
            }
            String inner = "";
            if (!items.isEmpty()) {
                inner = " " + chain(items, required, base + "-arg", suffixes);
                if (!required.contains(Boolean.TRUE)) inner = " ( " + inner.substring(1) + " )?";
            }
            String suffix = "";
            for (String s : suffixes) if (!s.isEmpty()) { suffix = s; break; }
            return add("call-" + base + suffix, literal(fn.name + "(") + inner + " " + literal(")"));
        }

        String line(int k, int mask) throws JSONException {
            String name = "line" + k + "-r" + mask;
            if (rules.containsKey(name)) return name;
            List<String> ret = new ArrayList<String>(), noret = new ArrayList<String>();
            for (FunctionSchema.Function fn : functions) {
                String c = call(fn, mask);
                if (c != null) ("None".equals(fn.returnsType) ? noret : ret).add(c);
            }
            List<String> alts = new ArrayList<String>();
            for (int g = 0; g < 2; g++) {
                List<String> group = g == 0 ? ret : noret;
                int nextMask = g == 0 ? mask | (1 << k) : mask;
                String label = g == 0 ? "returning" : "plain";
                if (group.isEmpty()) continue;
                String gr = group.size() > 1 ? add("calls-" + label + "-r" + mask, String.join(" | ", group)) : group.get(0);
                String next = k + 1 < maxCalls ? line(k + 1, nextMask) : null;
                alts.add(next != null ? gr + " ( \"\\n\" " + next + " )?" : gr);
            }
            if (alts.isEmpty()) return null;
            String head = literal("result" + k + " = ");
            return add(name, alts.size() > 1 ? head + " ( " + String.join(" | ", alts) + " )" : head + " " + alts.get(0));
        }

        String text() throws NoValidCallException, JSONException {
            String first = line(0, 0);
            if (first == null) throw new NoValidCallException("no valid call exists for this request with these function docs");
            rules.put("root", first);
            List<String> names = new ArrayList<String>(rules.keySet());
            names.remove("root");
            Collections.sort(names);
            names.add(0, "root");
            StringBuilder sb = new StringBuilder();
            sb.append("# ").append(VERSION).append(": the valid outputs for one request; see phonelm_export/intents/grammar.py\n");
            for (String n : names) sb.append(n).append(" ::= ").append(rules.get(n)).append('\n');
            return sb.toString();
        }
    }
}
