package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A deterministic phone: a contact book, and made-up content URIs for intents with results.
 * ACTION_PICK returns the first contact's URI; other intents with a result return
 * content://simulated/FUNCTION/CALL (a one-element list for uri_list). Same as mapper.py.
 */
public class SimulatedDevice implements Device {
    private final List<Map<String, Object>> contacts;

    public SimulatedDevice(List<Map<String, Object>> contacts) {
        this.contacts = contacts == null ? new ArrayList<Map<String, Object>>() : contacts;
    }

    @Override
    public Object query(ContactQuery q) {
        for (Map<String, Object> c : contacts) {
            Object name = c.containsKey("name") ? c.get("name") : "";
            boolean byName = q.by.equals("name") && String.valueOf(name).toLowerCase(Locale.ROOT)
                    .equals(Values.strip(q.value).toLowerCase(Locale.ROOT));
            boolean byUri = q.by.equals("uri") && q.value.equals(c.get("uri"));
            if (byName || byUri) return c.get(q.key);
        }
        return null;
    }

    @Override
    public Object start(int call, String function, IntentSpec intent) {
        if (intent.returns == null) return null;
        if (function.equals("ACTION_PICK")) return contacts.isEmpty() ? null : contacts.get(0).get("uri");
        String uri = "content://simulated/" + function + "/" + call;
        return "uri_list".equals(intent.returns) ? new ArrayList<Object>(Collections.singletonList(uri)) : uri;
    }

    @Override
    public boolean dryRun() {
        return false;
    }

    /** The desktop's dry run: nothing executes; later calls see "resultN". */
    public static Device dryRunDevice() {
        return new SimulatedDevice(null) {
            @Override
            public Object query(ContactQuery q) {
                return null;
            }

            @Override
            public Object start(int call, String function, IntentSpec intent) {
                return null;
            }

            @Override
            public boolean dryRun() {
                return true;
            }
        };
    }
}
