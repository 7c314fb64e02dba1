package org.phonelm.demo.core;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses a Call model's output into calls: DroidCall code lines ({@code result0 = f(a="x")}),
 * optionally wrapped in {@code $...$}, {@code <tool_call>} blocks or a code fence, or the JSON
 * form (a list of {"name", "arguments"} with "#N" references). A hand-written recursive-descent
 * parser, a line-by-line twin of {@code phonelm_export/intents/parser.py}: same calls, same
 * error messages (shared golden vectors). Columns count UTF-16 units here and code points in
 * Python, which differ only after characters outside the Basic Multilingual Plane.
 */
public final class CallParser {
    public static final int MAX_DEPTH = 32;
    private static final Pattern REF_NAME = Pattern.compile("result(0|[1-9][0-9]{0,5})");
    private static final Pattern HASH_REF = Pattern.compile("#(0|[1-9][0-9]{0,5})");
    private static final Pattern FUNC_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

    private final String s;
    private int i;
    private final Set<Integer> defined = new HashSet<Integer>();

    private CallParser(String s) {
        this.s = s;
    }

    /** Remove tool_call tags, a code fence and $...$ around the calls. */
    public static String unwrap(String text) {
        String s = Values.strip(text);
        if (s.contains("<tool_call>")) {
            List<String> parts = new ArrayList<String>();
            String rest = s;
            while (rest.contains("<tool_call>")) {
                rest = rest.substring(rest.indexOf("<tool_call>") + "<tool_call>".length());
                int end = rest.indexOf("</tool_call>");
                parts.add(end < 0 ? rest : rest.substring(0, end));
                rest = end < 0 ? "" : rest.substring(end + "</tool_call>".length());
            }
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < parts.size(); k++) {
                if (k > 0) sb.append('\n');
                sb.append(Values.strip(parts.get(k)));
            }
            s = Values.strip(sb.toString());
        }
        if (s.startsWith("```")) {
            int nl = s.indexOf('\n');
            s = nl < 0 ? "" : s.substring(nl + 1);
            if (Values.rstrip(s).endsWith("```")) {
                String r = Values.rstrip(s);
                s = r.substring(0, r.length() - 3);
            }
            s = Values.strip(s);
        }
        if (s.length() >= 2 && s.startsWith("$") && s.endsWith("$")) s = Values.strip(s.substring(1, s.length() - 1));
        return s;
    }

    /** All calls in a model output, in order (an empty output gives an empty list). */
    public static List<Call> parse(String text) throws CallParseException {
        if (text == null) throw new CallParseException("model output must be text");
        String s = unwrap(text);
        if (s.isEmpty()) return new ArrayList<Call>();
        CallParser p = new CallParser(s);
        char c = s.charAt(0);
        return (c == '[' || c == '{') ? p.jsonForm() : p.codeForm();
    }

    // --- positions and errors ------------------------------------------------------------
    private CallParseException error(String msg, int at) {
        int line = 1;
        for (int k = 0; k < at && k < s.length(); k++) if (s.charAt(k) == '\n') line++;
        int col = at - (s.lastIndexOf('\n', at - 1) + 1) + 1;
        return new CallParseException("line " + line + ", column " + col + ": " + msg);
    }

    private CallParseException error(String msg) {
        return error(msg, i);
    }

    private char peek() {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    private boolean atEnd() {
        return i >= s.length();
    }

    private String describe() {
        if (atEnd()) return "end of output";
        char c = s.charAt(i);
        if (c == '\n') return "end of line";
        if (c < 32 || c == 127) return String.format("character U+%04X", (int) c);
        return c == '\'' ? "\"'\"" : "'" + c + "'";
    }

    private void skipWs(boolean newlines) {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) i++;
            else break;
        }
    }

    private void expect(char c) throws CallParseException {
        if (atEnd() || peek() != c) throw error("expected '" + c + "', found " + describe());
        i++;
    }

    private static boolean identStart(char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean identChar(char c) {
        return identStart(c) || (c >= '0' && c <= '9');
    }

    private boolean digitAt(int k) {
        return k < s.length() && s.charAt(k) >= '0' && s.charAt(k) <= '9';
    }

    private String ident(String what) throws CallParseException {
        if (atEnd() || !identStart(peek())) throw error("expected " + what + ", found " + describe());
        int start = i;
        while (i < s.length() && identChar(s.charAt(i))) i++;
        return s.substring(start, i);
    }

    // --- the code form -------------------------------------------------------------------
    private List<Call> codeForm() throws CallParseException {
        List<Call> calls = new ArrayList<Call>();
        while (true) {
            while (i < s.length() && " \t\r\n;".indexOf(s.charAt(i)) >= 0) i++;
            if (atEnd()) return calls;
            calls.add(statement(calls.size()));
            skipWs(false);
            if (!atEnd() && peek() != '\n' && peek() != ';') throw error("expected end of line after the call, found " + describe());
        }
    }

    private Call statement(int position) throws CallParseException {
        int start = i;
        String first = ident("a function call");
        skipWs(false);
        int callId;
        String name;
        if (!atEnd() && peek() == '=') {
            Matcher m = REF_NAME.matcher(first);
            if (!m.matches()) throw error("expected resultN on the left of '=', found '" + first + "'", start);
            callId = Integer.parseInt(m.group(1));
            i++;
            skipWs(false);
            name = ident("a function name");
        } else {
            callId = position;
            name = first;
        }
        if (defined.contains(callId)) throw error("result" + callId + " is assigned twice", start);
        skipWs(false);
        expect('(');
        Map<String, Object> args = arguments();
        defined.add(callId);
        return new Call(callId, name, args);
    }

    private Map<String, Object> arguments() throws CallParseException {
        Map<String, Object> args = new LinkedHashMap<String, Object>();
        while (true) {
            skipWs(true);
            if (!atEnd() && peek() == ')') {
                i++;
                return args;
            }
            int keyAt = i;
            if (atEnd() || !identStart(peek())) {
                if (!atEnd() && "\"'[{-0123456789".indexOf(peek()) >= 0)
                    throw error("positional arguments are not accepted; write name=value");
                throw error("expected an argument name or ')', found " + describe());
            }
            String key = ident("an argument name");
            skipWs(true);
            if (atEnd() || peek() != '=') {
                if (!atEnd() && (peek() == ',' || peek() == ')'))
                    throw error("positional arguments are not accepted; write name=value", keyAt);
                throw error("expected '=' after '" + key + "', found " + describe());
            }
            i++;
            if (args.containsKey(key)) throw error("argument '" + key + "' is given twice", keyAt);
            skipWs(true);
            args.put(key, value(0));
            skipWs(true);
            if (!atEnd() && peek() == ',') i++;
            else if (atEnd() || peek() != ')') throw error("expected ',' or ')', found " + describe());
        }
    }

    // --- values --------------------------------------------------------------------------
    private Object value(int depth) throws CallParseException {
        if (depth > MAX_DEPTH) throw error("values nested deeper than " + MAX_DEPTH + " levels");
        if (atEnd()) throw error("expected a value, found " + describe());
        char c = peek();
        if (c == '"' || c == '\'') return string();
        if (c == '[') return listValue(depth);
        if (c == '{') return dictValue(depth);
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        if (identStart(c)) {
            int at = i;
            String word = ident("a value");
            if (word.equals("True") || word.equals("true")) return Boolean.TRUE;
            if (word.equals("False") || word.equals("false")) return Boolean.FALSE;
            if (word.equals("None") || word.equals("null")) return null;
            Matcher m = REF_NAME.matcher(word);
            if (m.matches()) {
                int n = Integer.parseInt(m.group(1));
                if (!defined.contains(n)) throw error("result" + n + " is used before it is assigned", at);
                return new ResultRef(n);
            }
            throw error("unknown name '" + word + "' (strings need quotes)", at);
        }
        throw error("expected a value, found " + describe());
    }

    private static boolean isHex(String h) {
        if (h.length() != 4) return false;
        for (int k = 0; k < 4; k++) if ("0123456789abcdefABCDEF".indexOf(h.charAt(k)) < 0) return false;
        return true;
    }

    private String string() throws CallParseException {
        int start = i;
        char quote = s.charAt(i++);
        StringBuilder out = new StringBuilder();
        while (true) {
            if (atEnd()) throw error("unterminated string", start);
            char c = s.charAt(i);
            if (c == quote) {
                i++;
                return out.toString();
            }
            if (c == '\\') {
                if (i + 1 >= s.length()) throw error("unterminated string", start);
                char e = s.charAt(i + 1);
                int simple = "\"'\\/bfnrt".indexOf(e);
                if (simple >= 0) {
                    out.append("\"'\\/\b\f\n\r\t".charAt(simple));
                    i += 2;
                } else if (e == 'u') {
                    String hex = s.substring(Math.min(i + 2, s.length()), Math.min(i + 6, s.length()));
                    if (!isHex(hex)) throw error("bad \\u escape in string");
                    int code = Integer.parseInt(hex, 16);
                    i += 6;
                    if (code >= 0xD800 && code <= 0xDBFF && s.startsWith("\\u", i)) {
                        String low = s.substring(Math.min(i + 2, s.length()), Math.min(i + 6, s.length()));
                        if (isHex(low)) {
                            int lo = Integer.parseInt(low, 16);
                            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                                i += 6;
                            }
                        }
                    }
                    if (code >= 0xD800 && code <= 0xDFFF) code = 0xFFFD; // a lone surrogate is not text
                    out.appendCodePoint(code);
                } else {
                    throw error("unknown escape '\\" + e + "' in string");
                }
            } else {
                out.append(c);
                i++;
            }
        }
    }

    /** Longer number literals are out of range; messages quote them shortened (as parser.py does). */
    static final int MAX_NUMBER_CHARS = 400;

    private static String shown(String number) {
        if (number.length() <= MAX_NUMBER_CHARS) return number;
        return number.substring(0, 20) + "... (" + number.length() + " characters)";
    }

    private Object number() throws CallParseException {
        int start = i;
        if (peek() == '-') i++;
        int digits = i;
        while (digitAt(i)) i++;
        if (i == digits) throw error("expected a digit after '-'");
        boolean isFloat = false;
        if (!atEnd() && peek() == '.' && digitAt(i + 1)) {
            isFloat = true;
            i++;
            while (digitAt(i)) i++;
        }
        if (!atEnd() && (peek() == 'e' || peek() == 'E')) {
            int j = i + 1;
            if (j < s.length() && (s.charAt(j) == '+' || s.charAt(j) == '-')) j++;
            if (digitAt(j)) {
                isFloat = true;
                i = j;
                while (digitAt(i)) i++;
            }
        }
        String text = s.substring(start, i);
        if (!atEnd() && identChar(peek())) throw error("malformed number '" + shown(text + peek()) + "'", start);
        if (text.length() > MAX_NUMBER_CHARS) throw error("number out of range '" + shown(text) + "'", start);
        if (isFloat) {
            double v = Double.parseDouble(text);
            if (Double.isNaN(v) || Double.isInfinite(v)) throw error("number out of range '" + shown(text) + "'", start);
            return v;
        }
        BigInteger v = new BigInteger(text);
        if (v.compareTo(LONG_MIN) < 0 || v.compareTo(LONG_MAX) > 0) throw error("number out of range '" + shown(text) + "'", start);
        return v.longValue();
    }

    private List<Object> listValue(int depth) throws CallParseException {
        i++;
        List<Object> items = new ArrayList<Object>();
        while (true) {
            skipWs(true);
            if (!atEnd() && peek() == ']') {
                i++;
                return items;
            }
            items.add(value(depth + 1));
            skipWs(true);
            if (!atEnd() && peek() == ',') i++;
            else if (atEnd() || peek() != ']') throw error("expected ',' or ']', found " + describe());
        }
    }

    private Map<String, Object> dictValue(int depth) throws CallParseException {
        i++;
        Map<String, Object> items = new LinkedHashMap<String, Object>();
        while (true) {
            skipWs(true);
            if (!atEnd() && peek() == '}') {
                i++;
                return items;
            }
            if (atEnd() || (peek() != '"' && peek() != '\'')) throw error("expected a quoted key or '}', found " + describe());
            int keyAt = i;
            String key = string();
            if (items.containsKey(key)) throw error("key '" + key + "' is given twice", keyAt);
            skipWs(true);
            expect(':');
            skipWs(true);
            items.put(key, value(depth + 1));
            skipWs(true);
            if (!atEnd() && peek() == ',') i++;
            else if (atEnd() || peek() != '}') throw error("expected ',' or '}', found " + describe());
        }
    }

    // --- the JSON form -------------------------------------------------------------------
    @SuppressWarnings("unchecked")
    private List<Call> jsonForm() throws CallParseException {
        List<int[]> ats = new ArrayList<int[]>();
        List<Object> objects = new ArrayList<Object>();
        while (true) {
            skipWs(true);
            if (atEnd()) break;
            int at = i;
            if (peek() != '[' && peek() != '{') throw error("expected a JSON call object or list, found " + describe());
            Object v = value(0);
            if (v instanceof List) {
                for (Object item : (List<Object>) v) {
                    objects.add(item);
                    ats.add(new int[] {at});
                }
            } else {
                objects.add(v);
                ats.add(new int[] {at});
            }
        }
        List<Call> calls = new ArrayList<Call>();
        for (int n = 0; n < objects.size(); n++) {
            int at = ats.get(n)[0];
            Object obj = objects.get(n);
            if (!(obj instanceof Map)) throw error("call " + n + ": expected an object with \"name\" and \"arguments\"", at);
            Map<String, Object> o = (Map<String, Object>) obj;
            Object name = o.get("name");
            if (!(name instanceof String) || !FUNC_NAME.matcher((String) name).matches())
                throw error("call " + n + ": \"name\" must be a function name", at);
            TreeSet<String> extra = new TreeSet<String>(o.keySet());
            extra.remove("name");
            extra.remove("arguments");
            if (!extra.isEmpty()) throw error("call " + n + ": unexpected key \"" + extra.first() + "\"", at);
            Object args = o.containsKey("arguments") ? o.get("arguments") : new LinkedHashMap<String, Object>();
            if (args instanceof String) {
                String inner = Values.strip((String) args);
                CallParser sub = new CallParser(inner.isEmpty() ? "{}" : inner);
                if (sub.peek() != '{') throw error("call " + n + ": \"arguments\" must be an object", at);
                try {
                    args = sub.value(0);
                    sub.skipWs(true);
                    if (!sub.atEnd()) throw sub.error("unexpected text after the arguments");
                } catch (CallParseException e) {
                    throw error("call " + n + ": \"arguments\" string: " + e.getMessage(), at);
                }
            }
            if (args == null) args = new LinkedHashMap<String, Object>();
            if (!(args instanceof Map)) throw error("call " + n + ": \"arguments\" must be an object", at);
            Map<String, Object> resolved = new LinkedHashMap<String, Object>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) args).entrySet())
                resolved.put(e.getKey(), hashRefs(e.getValue(), n, at));
            calls.add(new Call(n, (String) name, resolved));
        }
        return calls;
    }

    @SuppressWarnings("unchecked")
    private Object hashRefs(Object v, int n, int at) throws CallParseException {
        if (v instanceof String) {
            Matcher m = HASH_REF.matcher((String) v);
            if (m.matches()) {
                int ref = Integer.parseInt(m.group(1));
                if (ref >= n) throw error("call " + n + ": \"#" + ref + "\" refers to a call that is not before it", at);
                return new ResultRef(ref);
            }
            return v;
        }
        if (v instanceof ResultRef) {
            if (((ResultRef) v).n >= n) throw error("call " + n + ": result" + ((ResultRef) v).n + " refers to a call that is not before it", at);
            return v;
        }
        if (v instanceof List) {
            List<Object> out = new ArrayList<Object>();
            for (Object x : (List<Object>) v) out.add(hashRefs(x, n, at));
            return out;
        }
        if (v instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<String, Object>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) out.put(e.getKey(), hashRefs(e.getValue(), n, at));
            return out;
        }
        return v;
    }
}
