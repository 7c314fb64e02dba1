package org.phonelm.demo.core;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One function call {@code result<id> = <name>(**arguments)}. Argument values are String, Long,
 * Double, Boolean, null, List, Map (insertion-ordered) or {@link ResultRef}.
 */
public final class Call {
    public final int id;
    public final String name;
    public final Map<String, Object> arguments;

    public Call(int id, String name, Map<String, Object> arguments) {
        this.id = id;
        this.name = name;
        this.arguments = arguments;
    }

    /** The golden-file JSON shape: references become {"$ref": n}. */
    public Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<String, Object>();
        out.put("id", (long) id);
        out.put("name", name);
        out.put("arguments", Values.toJson(arguments));
        return out;
    }

    /** The DroidCall line, e.g. {@code result0 = dial(phone_number="1")}. */
    public String render() {
        StringBuilder sb = new StringBuilder("result").append(id).append(" = ").append(name).append('(');
        boolean first = true;
        for (Map.Entry<String, Object> e : arguments.entrySet()) {
            if (!first) sb.append(", ");
            first = false;
            sb.append(e.getKey()).append('=').append(Values.render(e.getValue()));
        }
        return sb.append(')').toString();
    }
}
