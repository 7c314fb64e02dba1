package org.phonelm.demo.core;

import java.util.LinkedHashMap;
import java.util.Map;

/** A contacts-provider lookup (get_contact_info*): by "name" or "uri", returning "email"/"phone"/"address"/"uri". */
public final class ContactQuery {
    public final String by, value, key;

    public ContactQuery(String by, String value, String key) {
        this.by = by;
        this.value = value;
        this.key = key;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("by", by);
        m.put("value", value);
        m.put("key", key);
        return m;
    }
}
