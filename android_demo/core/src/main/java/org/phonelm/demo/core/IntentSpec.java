package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An Android intent as data: action, data URI, MIME type, categories, typed extras. */
public final class IntentSpec {
    public final String action;
    public String data, type;
    public final List<String> categories = new ArrayList<String>();
    public final List<Extra> extras = new ArrayList<Extra>();
    /** null: fire and forget; "uri" / "uri_list": started for a result. */
    public String returns;

    public IntentSpec(String action) {
        this.action = action;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("action", action);
        m.put("data", data);
        m.put("type", type);
        m.put("categories", new ArrayList<Object>(categories));
        List<Object> ex = new ArrayList<Object>();
        for (Extra e : extras) ex.add(e.toJson());
        m.put("extras", ex);
        m.put("returns", returns);
        return m;
    }
}
