package org.phonelm.demo.core;

import java.util.LinkedHashMap;
import java.util.Map;

/** One call of a plan: its intent or contacts query, or its error; and what it returned. */
public final class Step {
    public final int call;
    public final String function;
    public IntentSpec intent;
    public ContactQuery query;
    public MappingException error;
    public Object result;

    public Step(int call, String function) {
        this.call = call;
        this.function = function;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("call", (long) call);
        m.put("function", function);
        if (error != null) {
            Map<String, Object> e = new LinkedHashMap<String, Object>();
            e.put("code", error.code);
            e.put("message", error.getMessage());
            m.put("error", e);
        } else if (intent != null) {
            m.put("intent", intent.toJson());
        } else {
            m.put("query", query.toJson());
        }
        m.put("result", Values.toJson(result));
        return m;
    }
}
