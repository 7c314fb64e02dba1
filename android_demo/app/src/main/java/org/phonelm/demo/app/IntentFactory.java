package org.phonelm.demo.app;

import android.content.Intent;
import android.net.Uri;

import java.util.ArrayList;
import java.util.List;

import org.phonelm.demo.core.Extra;
import org.phonelm.demo.core.IntentSpec;

/** An intent-as-data from the core turned into a real android.content.Intent (typed extras). */
final class IntentFactory {
    private IntentFactory() {}

    static Intent build(IntentSpec spec) {
        Intent it = new Intent(spec.action);
        if (spec.data != null && spec.type != null) it.setDataAndType(Uri.parse(spec.data), spec.type);
        else if (spec.data != null) it.setData(Uri.parse(spec.data));
        else if (spec.type != null) it.setType(spec.type);
        for (String c : spec.categories) it.addCategory(c);
        for (Extra e : spec.extras) put(it, e);
        return it;
    }

    @SuppressWarnings("unchecked")
    private static void put(Intent it, Extra e) {
        Object v = e.value;
        switch (e.type) {
            case "string": it.putExtra(e.key, (String) v); break;
            case "int": it.putExtra(e.key, ((Number) v).intValue()); break;
            case "long": it.putExtra(e.key, ((Number) v).longValue()); break;
            case "boolean": it.putExtra(e.key, (Boolean) v); break;
            case "string_array": {
                List<Object> l = (List<Object>) v;
                it.putExtra(e.key, l.toArray(new String[0]));
                break;
            }
            case "int_list": {
                ArrayList<Integer> out = new ArrayList<Integer>();
                for (Object x : (List<Object>) v) out.add(((Number) x).intValue());
                it.putIntegerArrayListExtra(e.key, out);
                break;
            }
            case "uri": it.putExtra(e.key, Uri.parse((String) v)); it.addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION); break;
            case "uri_list": {
                ArrayList<Uri> out = new ArrayList<Uri>();
                for (Object x : (List<Object>) v) out.add(Uri.parse((String) x));
                it.putParcelableArrayListExtra(e.key, out);
                it.addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION);
                break;
            }
            default: throw new IllegalArgumentException("extra type " + e.type);
        }
    }
}
