package org.phonelm.demo.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One typed intent extra. {@code type} tells the app which putExtra to call: string, int, long,
 * boolean, string_array (String[]), int_list (ArrayList of Integer), uri (Parcelable Uri),
 * uri_list (ArrayList of Uri).
 */
public final class Extra {
    public final String key, type;
    public final Object value;

    public Extra(String key, String type, Object value) {
        this.key = key;
        this.type = type;
        this.value = value;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("key", key);
        m.put("type", type);
        m.put("value", Values.toJson(value));
        return m;
    }
}
