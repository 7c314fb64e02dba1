package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import static org.phonelm.demo.core.AndroidConstants.*;

/**
 * One call (references already resolved) to an {@link IntentSpec} or a {@link ContactQuery}, with
 * the schema's validation; the twin of {@code map_call} in mapper.py (same codes and messages).
 */
public final class IntentMapper {
    private final FunctionSchema schema;
    private static final Pattern MIME = Pattern.compile("(\\*|[A-Za-z0-9][A-Za-z0-9.+_-]*)/(\\*|[A-Za-z0-9][A-Za-z0-9.+_-]*)");

    public IntentMapper(FunctionSchema schema) {
        this.schema = schema;
    }

    public FunctionSchema schema() {
        return schema;
    }

    private static MappingException bad(String fn, String arg, String problem) {
        return new MappingException("bad_value", fn + "(): '" + arg + "' " + problem);
    }

    @SuppressWarnings("unchecked")
    private static Object checkType(String fn, String arg, String type, Object v) throws MappingException {
        boolean ok;
        Object out = v;
        if (type.equals("int")) {
            if (v instanceof Long || v instanceof Integer) {
                ok = true;
                out = ((Number) v).longValue();
            } else if (v instanceof Double && ((Double) v) == Math.rint((Double) v) && Math.abs((Double) v) < 9007199254740992.0) {
                ok = true;
                out = (long) (double) (Double) v;
            } else ok = false;
        } else if (type.equals("str")) {
            ok = v instanceof String;
        } else if (type.equals("bool")) {
            ok = v instanceof Boolean;
        } else if (type.equals("list[str]")) {
            ok = v instanceof List;
            if (ok) for (Object x : (List<Object>) v) if (!(x instanceof String)) ok = false;
        } else if (type.equals("dict[str, str]")) {
            ok = v instanceof Map;
            if (ok) for (Object x : ((Map<String, Object>) v).values()) if (!(x instanceof String)) ok = false;
        } else {
            throw new IllegalStateException("schema type " + type);
        }
        if (ok) return out;
        String got = Values.typeName(v);
        if (type.equals("list[str]") && v instanceof List) {
            for (Object x : (List<Object>) v) if (!(x instanceof String)) { got = "list containing " + Values.typeName(x); break; }
        }
        if (type.equals("dict[str, str]") && v instanceof Map) {
            for (Object x : ((Map<String, Object>) v).values()) if (!(x instanceof String)) { got = "dict containing " + Values.typeName(x); break; }
        }
        throw new MappingException("bad_type", fn + "(): '" + arg + "' must be " + type + ", got " + got);
    }

    /** Validated arguments with defaults filled in. */
    public Map<String, Object> normalize(FunctionSchema.Function fn, Map<String, Object> args) throws MappingException {
        for (String k : args.keySet())
            if (fn.arg(k) == null) throw new MappingException("unknown_argument", fn.name + "() has no argument '" + k + "'");
        Map<String, Object> out = new LinkedHashMap<String, Object>();
        for (FunctionSchema.Arg a : fn.args) {
            Object v = args.get(a.name);
            if (v == null) {
                if (a.required) {
                    if (args.containsKey(a.name))
                        throw new MappingException("bad_type", fn.name + "(): '" + a.name + "' must be " + a.type + ", got None");
                    throw new MappingException("missing_argument", fn.name + "() needs the argument '" + a.name + "'");
                }
                out.put(a.name, a.defaultValue);
                continue;
            }
            v = checkType(fn.name, a.name, a.type, v);
            if (a.choices != null) {
                String match = null;
                for (String c : a.choices) if (c.toLowerCase(Locale.ROOT).equals(((String) v).toLowerCase(Locale.ROOT))) { match = c; break; }
                if (match == null) {
                    StringBuilder sb = new StringBuilder();
                    for (String c : a.choices) sb.append(sb.length() > 0 ? ", " : "").append(c);
                    throw bad(fn.name, a.name, "must be one of " + sb + ", got '" + v + "'");
                }
                v = match;
            }
            out.put(a.name, v);
        }
        return out;
    }

    private static String nonEmpty(String fn, String arg, String v) throws MappingException {
        if (Values.strip(v).isEmpty()) throw bad(fn, arg, "must not be empty");
        return v;
    }

    private static String mime(String fn, String arg, String v) throws MappingException {
        if (!MIME.matcher(v).matches()) throw bad(fn, arg, "is not a MIME type: '" + v + "'");
        return v;
    }

    private static List<Extra> contactExtras(String fn, Map<String, Object> info) throws MappingException {
        Map<String, String> keys = new LinkedHashMap<String, String>();
        keys.put("name", INSERT_NAME);
        keys.put("email", INSERT_EMAIL);
        keys.put("phone", INSERT_PHONE);
        keys.put("company", INSERT_COMPANY);
        keys.put("address", INSERT_POSTAL);
        List<Extra> out = new ArrayList<Extra>();
        for (Map.Entry<String, Object> e : info.entrySet()) {
            if (!keys.containsKey(e.getKey()))
                throw bad(fn, "contact_info", "has an unknown key '" + e.getKey() + "' (use name, email, phone, company, address)");
            out.add(new Extra(keys.get(e.getKey()), "string", e.getValue()));
        }
        return out;
    }

    private static void streams(IntentSpec it, List<Object> attachments) {
        if (attachments.size() == 1) it.extras.add(new Extra(EXTRA_STREAM, "uri", attachments.get(0)));
        else it.extras.add(new Extra(EXTRA_STREAM, "uri_list", new ArrayList<Object>(attachments)));
    }

    private static boolean truthy(Object v) {
        if (v == null) return false;
        if (v instanceof String) return !((String) v).isEmpty();
        if (v instanceof List) return !((List<?>) v).isEmpty();
        if (v instanceof Map) return !((Map<?, ?>) v).isEmpty();
        if (v instanceof Boolean) return (Boolean) v;
        return true;
    }

    /** The intent or query for one call; MappingException when the call is invalid. */
    @SuppressWarnings("unchecked")
    public Object map(String name, Map<String, Object> args, String zone) throws MappingException {
        FunctionSchema.Function fn = schema.get(name);
        if (fn == null) throw new MappingException("unknown_function", "unknown function '" + name + "'");
        Map<String, Object> a = normalize(fn, args);
        String n = name;
        if (n.equals("ACTION_SET_ALARM")) {
            long hour = (Long) a.get("EXTRA_HOUR"), minutes = (Long) a.get("EXTRA_MINUTES");
            if (hour < 0 || hour > 23) throw bad(n, "EXTRA_HOUR", "must be 0 to 23, got " + hour);
            if (minutes < 0 || minutes > 59) throw bad(n, "EXTRA_MINUTES", "must be 0 to 59, got " + minutes);
            IntentSpec it = new IntentSpec(ACTION_SET_ALARM);
            it.extras.add(new Extra(EXTRA_HOUR, "int", hour));
            it.extras.add(new Extra(EXTRA_MINUTES, "int", minutes));
            if (truthy(a.get("EXTRA_MESSAGE"))) it.extras.add(new Extra(EXTRA_MESSAGE, "string", a.get("EXTRA_MESSAGE")));
            if (a.get("EXTRA_DAYS") != null) {
                List<Object> days = new ArrayList<Object>();
                for (Object d : (List<Object>) a.get("EXTRA_DAYS")) {
                    String key = Values.strip((String) d).toLowerCase(Locale.ROOT);
                    Integer num = CALENDAR_DAYS.get(key);
                    if (num == null && key.length() >= 3)
                        for (Map.Entry<String, Integer> e : CALENDAR_DAYS.entrySet()) if (e.getKey().startsWith(key)) { num = e.getValue(); break; }
                    if (num == null) throw bad(n, "EXTRA_DAYS", "has an unknown weekday '" + d + "'");
                    if (!days.contains((long) num)) days.add((long) num);
                }
                it.extras.add(new Extra(EXTRA_DAYS, "int_list", days));
            }
            if (a.get("EXTRA_RINGTONE") != null) it.extras.add(new Extra(EXTRA_RINGTONE, "string", a.get("EXTRA_RINGTONE")));
            it.extras.add(new Extra(EXTRA_VIBRATE, "boolean", a.get("EXTRA_VIBRATE")));
            it.extras.add(new Extra(EXTRA_SKIP_UI, "boolean", a.get("EXTRA_SKIP_UI")));
            return it;
        }
        if (n.equals("ACTION_SET_TIMER")) {
            String duration = (String) a.get("duration");
            long seconds;
            try {
                seconds = Conversions.durationSeconds(duration);
            } catch (IllegalArgumentException e) {
                throw bad(n, "duration", "is not a duration: '" + duration + "'");
            }
            if (seconds < 1 || seconds > 86400) throw bad(n, "duration", "must be 1 second to 24 hours, got " + seconds + " seconds");
            IntentSpec it = new IntentSpec(ACTION_SET_TIMER);
            it.extras.add(new Extra(EXTRA_LENGTH, "int", seconds));
            if (truthy(a.get("EXTRA_MESSAGE"))) it.extras.add(new Extra(EXTRA_MESSAGE, "string", a.get("EXTRA_MESSAGE")));
            it.extras.add(new Extra(EXTRA_SKIP_UI, "boolean", a.get("EXTRA_SKIP_UI")));
            return it;
        }
        if (n.equals("ACTION_SHOW_ALARMS")) return new IntentSpec(ACTION_SHOW_ALARMS);
        if (n.equals("ACTION_INSERT_EVENT")) {
            IntentSpec it = new IntentSpec(ACTION_INSERT);
            it.data = EVENTS_CONTENT_URI;
            it.extras.add(new Extra(CAL_TITLE, "string", a.get("TITLE")));
            it.extras.add(new Extra(CAL_DESCRIPTION, "string", a.get("DESCRIPTION")));
            if (a.get("EVENT_LOCATION") != null) it.extras.add(new Extra(CAL_EVENT_LOCATION, "string", a.get("EVENT_LOCATION")));
            it.extras.add(new Extra(CAL_EXTRA_EVENT_ALL_DAY, "boolean", a.get("EXTRA_EVENT_ALL_DAY")));
            String[][] times = {{"EXTRA_EVENT_BEGIN_TIME", CAL_EXTRA_EVENT_BEGIN_TIME}, {"EXTRA_EVENT_END_TIME", CAL_EXTRA_EVENT_END_TIME}};
            Long begin = null, end = null;
            for (String[] t : times) {
                Object v = a.get(t[0]);
                if (v == null) continue;
                long ms;
                try {
                    ms = Conversions.isoToEpochMs((String) v, zone);
                } catch (IllegalArgumentException e) {
                    throw bad(n, t[0], "is not an ISO 8601 time: '" + v + "'");
                }
                if (t[0].equals("EXTRA_EVENT_BEGIN_TIME")) begin = ms; else end = ms;
                it.extras.add(new Extra(t[1], "long", ms));
            }
            if (begin != null && end != null && end < begin) throw bad(n, "EXTRA_EVENT_END_TIME", "is before EXTRA_EVENT_BEGIN_TIME");
            if (truthy(a.get("EXTRA_EMAIL"))) {
                StringBuilder sb = new StringBuilder();
                for (Object e : (List<Object>) a.get("EXTRA_EMAIL")) sb.append(sb.length() > 0 ? "," : "").append(e);
                it.extras.add(new Extra(EXTRA_EMAIL, "string", sb.toString()));  // CalendarContract wants one comma-separated string
            }
            return it;
        }
        if (n.equals("ACTION_IMAGE_CAPTURE") || n.equals("ACTION_VIDEO_CAPTURE")) {
            IntentSpec it = new IntentSpec(n.equals("ACTION_IMAGE_CAPTURE") ? ACTION_IMAGE_CAPTURE : ACTION_VIDEO_CAPTURE);
            it.returns = "uri";
            return it;
        }
        if (n.equals("INTENT_ACTION_STILL_IMAGE_CAMERA")) return new IntentSpec(INTENT_ACTION_STILL_IMAGE_CAMERA);
        if (n.equals("INTENT_ACTION_VIDEO_CAMERA")) return new IntentSpec(INTENT_ACTION_VIDEO_CAMERA);
        if (n.equals("ACTION_PICK")) {
            String dt = (String) a.get("data_type");
            IntentSpec it = new IntentSpec(ACTION_PICK);
            it.type = dt.equals("ALL") ? CONTACTS_CONTENT_TYPE : dt.equals("PHONE") ? PHONE_CONTENT_TYPE
                    : dt.equals("EMAIL") ? EMAIL_CONTENT_TYPE : POSTAL_CONTENT_TYPE;
            it.returns = "uri";
            return it;
        }
        if (n.equals("get_contact_info")) return new ContactQuery("name", nonEmpty(n, "name", (String) a.get("name")), (String) a.get("key"));
        if (n.equals("get_contact_info_from_uri"))
            return new ContactQuery("uri", nonEmpty(n, "contact_uri", (String) a.get("contact_uri")), (String) a.get("key"));
        if (n.equals("ACTION_VIEW_CONTACT")) {
            IntentSpec it = new IntentSpec(ACTION_VIEW);
            it.data = nonEmpty(n, "contact_uri", (String) a.get("contact_uri"));
            return it;
        }
        if (n.equals("ACTION_EDIT_CONTACT")) {
            Map<String, Object> info = a.get("contact_info") == null ? new LinkedHashMap<String, Object>() : (Map<String, Object>) a.get("contact_info");
            List<Extra> extras = contactExtras(n, info);
            extras.add(new Extra(EXTRA_FINISH_ON_SAVE, "boolean", Boolean.TRUE));
            IntentSpec it = new IntentSpec(ACTION_EDIT);
            it.data = nonEmpty(n, "contact_uri", (String) a.get("contact_uri"));
            it.extras.addAll(extras);
            return it;
        }
        if (n.equals("ACTION_INSERT_CONTACT")) {
            if (!truthy(a.get("contact_info"))) throw bad(n, "contact_info", "must not be empty");
            IntentSpec it = new IntentSpec(ACTION_INSERT);
            it.type = RAW_CONTACTS_CONTENT_TYPE;
            it.extras.addAll(contactExtras(n, (Map<String, Object>) a.get("contact_info")));
            return it;
        }
        if (n.equals("send_email")) {
            if (!truthy(a.get("to"))) throw bad(n, "to", "must not be empty");
            List<Extra> extras = new ArrayList<Extra>();
            extras.add(new Extra(EXTRA_EMAIL, "string_array", a.get("to")));
            if (truthy(a.get("cc"))) extras.add(new Extra(EXTRA_CC, "string_array", a.get("cc")));
            if (truthy(a.get("bcc"))) extras.add(new Extra(EXTRA_BCC, "string_array", a.get("bcc")));
            extras.add(new Extra(EXTRA_SUBJECT, "string", a.get("subject")));
            extras.add(new Extra(EXTRA_TEXT, "string", a.get("body")));
            List<Object> att = (List<Object>) a.get("attachments");
            IntentSpec it;
            if (!truthy(att)) {
                it = new IntentSpec(ACTION_SENDTO);
                it.data = "mailto:";
                it.extras.addAll(extras);
            } else {
                it = new IntentSpec(att.size() == 1 ? ACTION_SEND : ACTION_SEND_MULTIPLE);
                it.type = "*/*";
                it.extras.addAll(extras);
                streams(it, att);
            }
            return it;
        }
        if (n.equals("send_message")) {
            String phone = nonEmpty(n, "phone_number", (String) a.get("phone_number"));
            List<Extra> extras = new ArrayList<Extra>();
            extras.add(new Extra("sms_body", "string", a.get("body")));
            if (truthy(a.get("subject"))) extras.add(new Extra("subject", "string", a.get("subject")));
            List<Object> att = (List<Object>) a.get("attachments");
            IntentSpec it;
            if (!truthy(att)) {
                it = new IntentSpec(ACTION_SENDTO);
                it.data = "smsto:" + Conversions.urlEncode(phone);
                it.extras.addAll(extras);
            } else {
                it = new IntentSpec(att.size() == 1 ? ACTION_SEND : ACTION_SEND_MULTIPLE);
                it.type = "*/*";
                it.extras.add(new Extra("address", "string", phone));
                it.extras.addAll(extras);
                streams(it, att);
            }
            return it;
        }
        if (n.equals("ACTION_GET_RINGTONE")) {
            IntentSpec it = new IntentSpec(ACTION_RINGTONE_PICKER);
            it.returns = "uri";
            return it;
        }
        if (n.equals("ACTION_GET_CONTENT")) {
            boolean many = (Boolean) a.get("allow_multiple");
            IntentSpec it = new IntentSpec(ACTION_GET_CONTENT);
            it.type = mime(n, "mime_type", (String) a.get("mime_type"));
            it.categories.add(CATEGORY_OPENABLE);
            it.extras.add(new Extra(EXTRA_ALLOW_MULTIPLE, "boolean", many));
            it.returns = many ? "uri_list" : "uri";
            return it;
        }
        if (n.equals("ACTION_OPEN_DOCUMENT")) {
            List<Object> types = new ArrayList<Object>();
            for (Object t : (List<Object>) a.get("mime_types")) types.add(mime(n, "mime_types", (String) t));
            if (types.isEmpty()) throw bad(n, "mime_types", "must not be empty");
            boolean many = (Boolean) a.get("allow_multiple");
            IntentSpec it = new IntentSpec(ACTION_OPEN_DOCUMENT);
            if (types.size() > 1) it.extras.add(new Extra(EXTRA_MIME_TYPES, "string_array", types));
            it.extras.add(new Extra(EXTRA_ALLOW_MULTIPLE, "boolean", many));
            it.type = types.size() == 1 ? (String) types.get(0) : "*/*";
            it.categories.add(CATEGORY_OPENABLE);
            it.returns = many ? "uri_list" : "uri";
            return it;
        }
        if (n.equals("ACTION_CREATE_DOCUMENT")) {
            IntentSpec it = new IntentSpec(ACTION_CREATE_DOCUMENT);
            it.type = mime(n, "mime_type", (String) a.get("mime_type"));
            it.categories.add(CATEGORY_OPENABLE);
            it.extras.add(new Extra(EXTRA_TITLE, "string", nonEmpty(n, "initial_name", (String) a.get("initial_name"))));
            it.returns = "uri";
            return it;
        }
        if (n.equals("dial")) {
            IntentSpec it = new IntentSpec(ACTION_DIAL);
            it.data = "tel:" + Conversions.urlEncode(nonEmpty(n, "phone_number", (String) a.get("phone_number")));
            return it;
        }
        if (n.equals("web_search")) {
            String q = Conversions.urlEncode(nonEmpty(n, "query", (String) a.get("query")));
            IntentSpec it = new IntentSpec(ACTION_VIEW);
            it.data = ("google".equals(a.get("engine")) ? "https://www.google.com/search?q=" : "https://www.baidu.com/s?wd=") + q;
            return it;
        }
        if (n.equals("search_location")) {
            IntentSpec it = new IntentSpec(ACTION_VIEW);
            it.data = "geo:0,0?q=" + Conversions.urlEncode(nonEmpty(n, "query", (String) a.get("query")));
            return it;
        }
        if (n.equals("open_settings")) return new IntentSpec(SETTINGS_ACTIONS.get((String) a.get("setting_type")));
        throw new IllegalStateException("no mapping for " + n);
    }
}
