package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Ranks function docs for a query with Okapi BM25 (the phone has no embedding model), exactly as
 * {@code phonelm_export/intents/retrieval.py}: name x3 + keywords x2 + description + argument text.
 */
public final class Retrieval {
    static final double K1 = 1.2, B = 0.75;
    static final int NAME_WEIGHT = 3, KEYWORD_WEIGHT = 2;
    static final Set<String> STOPWORDS = new HashSet<String>(Arrays.asList((
            "a an the to of for and or in on at by with my me i you your is it this that be please can could "
            + "would will do does what which from as are was up").split(" ")));

    private final List<String> names;
    private final List<List<String>> docs = new ArrayList<List<String>>();
    private final Map<String, Double> idf = new HashMap<String, Double>();
    private final double avg;

    public Retrieval(FunctionSchema schema) {
        names = schema.names();
        Map<String, Integer> df = new HashMap<String, Integer>();
        int total = 0;
        for (String n : names) {
            FunctionSchema.Function f = schema.get(n);
            StringBuilder text = new StringBuilder();
            for (int k = 0; k < NAME_WEIGHT; k++) text.append(f.name).append(' ');
            for (int k = 0; k < KEYWORD_WEIGHT; k++) text.append(f.keywords).append(' ');
            text.append(f.description);
            for (FunctionSchema.Arg a : f.args) text.append(' ').append(a.name).append(' ').append(a.description);
            List<String> toks = tokenize(text.toString());
            docs.add(toks);
            total += toks.size();
            for (String t : new HashSet<String>(toks)) df.put(t, df.containsKey(t) ? df.get(t) + 1 : 1);
        }
        int nDocs = names.size();
        avg = (double) total / nDocs;
        for (Map.Entry<String, Integer> e : df.entrySet())
            idf.put(e.getKey(), Math.log(1.0 + (nDocs - e.getValue() + 0.5) / (e.getValue() + 0.5)));
    }

    /** Lower-case [a-z0-9]+ words ('_' splits identifiers); stop words and numbers dropped; plural s cut. */
    public static List<String> tokenize(String text) {
        String low = text.toLowerCase(Locale.ROOT).replace('_', ' ');
        List<String> out = new ArrayList<String>();
        int k = 0;
        while (k < low.length()) {
            char c = low.charAt(k);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                int start = k;
                boolean digits = true;
                while (k < low.length() && ((low.charAt(k) >= 'a' && low.charAt(k) <= 'z') || (low.charAt(k) >= '0' && low.charAt(k) <= '9'))) {
                    if (low.charAt(k) >= 'a') digits = false;
                    k++;
                }
                String w = low.substring(start, k);
                if (STOPWORDS.contains(w) || digits) continue;
                if (w.length() > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.substring(0, w.length() - 1);
                out.add(w);
            } else {
                k++;
            }
        }
        return out;
    }

    public double[] scores(String query) {
        List<String> q = new ArrayList<String>(new LinkedHashSet<String>(tokenize(query)));
        double[] out = new double[names.size()];
        for (int d = 0; d < names.size(); d++) {
            List<String> toks = docs.get(d);
            double s = 0.0;
            int dl = toks.size();
            for (String t : q) {
                int tf = Collections.frequency(toks, t);
                if (tf > 0) s += idf.get(t) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avg));
            }
            out[d] = s;
        }
        return out;
    }

    /** Targets usually given as a person's name: get_contact_info joins them (retrieval.py explains). */
    static final List<String> CONTACT_TARGETS = Arrays.asList(
            "dial", "send_message", "send_email", "search_location", "ACTION_VIEW_CONTACT", "ACTION_EDIT_CONTACT");
    private static final java.util.regex.Pattern LITERAL = java.util.regex.Pattern.compile("[0-9]{3}|@");

    /** Names of the k best functions, best first; ties keep the schema order. */
    public List<String> select(String query, int k) {
        final double[] sc = scores(query);
        List<Integer> order = new ArrayList<Integer>();
        for (int d = 0; d < names.size(); d++) order.add(d);
        Collections.sort(order, new Comparator<Integer>() {
            @Override
            public int compare(Integer a, Integer b) {
                int c = Double.compare(sc[b], sc[a]);
                return c != 0 ? c : Integer.compare(a, b);
            }
        });
        List<String> out = new ArrayList<String>();
        for (int d = 0; d < Math.min(k, order.size()); d++) out.add(names.get(order.get(d)));
        boolean target = false;
        for (String t : out) if (CONTACT_TARGETS.contains(t)) target = true;
        if (k >= 2 && !out.contains("get_contact_info") && target && !LITERAL.matcher(query).find())
            out.set(out.size() - 1, "get_contact_info");
        return out;
    }
}
