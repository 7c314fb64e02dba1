package org.phonelm.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/** The Java core builds the byte-identical call grammar the Python package builds (tests/golden/intents/grammar.json). */
public class GrammarGoldenTest {
    static CallGrammar grammar() throws Exception {
        String functions = System.getProperty("phonelm.functions");
        if (functions == null) throw new IllegalStateException("set -Dphonelm.functions=<repo>/phonelm_export/intents/data/functions.json");
        // verbatim.json sits beside functions.json (one data directory, shipped together in the app config)
        String verbatim = Golden.read(new File(new File(functions).getParentFile(), "verbatim.json").getPath());
        return new CallGrammar(Golden.schema(), verbatim);
    }

    private static List<String> strings(JSONArray a) throws Exception {
        List<String> out = new ArrayList<String>();
        for (int j = 0; j < a.length(); j++) out.add(a.getString(j));
        return out;
    }

    /** The first line where two grammar texts differ, for a readable failure. */
    private static String firstDifference(String want, String got) {
        String[] a = want.split("\n", -1), b = got.split("\n", -1);
        for (int k = 0; k < Math.max(a.length, b.length); k++) {
            String x = k < a.length ? a[k] : "<none>", y = k < b.length ? b[k] : "<none>";
            if (!x.equals(y)) return "line " + (k + 1) + ":\n  python: " + x + "\n  java:   " + y;
        }
        return "identical";
    }

    @Test
    public void buildsTheGoldenGrammars() throws Exception {
        CallGrammar g = grammar();
        JSONArray cases = Golden.load("grammar.json").getJSONArray("cases");
        assertTrue(cases.length() >= 10);
        List<String> failures = new ArrayList<String>();
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            String want = c.getString("grammar");
            String got = g.build(c.getString("query"), strings(c.getJSONArray("functions")));
            if (!want.equals(got)) failures.add(c.getString("query") + ": " + firstDifference(want, got));
        }
        if (!failures.isEmpty()) fail(String.join("\n", failures));
    }

    @Test
    public void refusesTheGoldenImpossibleRequests() throws Exception {
        CallGrammar g = grammar();
        JSONArray cases = Golden.load("grammar.json").getJSONArray("errors");
        assertTrue(cases.length() >= 1);
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            try {
                g.build(c.getString("query"), strings(c.getJSONArray("functions")));
                fail("no error for " + c.getString("query"));
            } catch (CallGrammar.NoValidCallException e) {
                assertEquals(c.getString("error"), e.getMessage());
            }
        }
    }

    /** A grammar-capable engine that records the grammar it is given and answers like ReplayEngine. */
    static final class RecordingEngine implements GrammarEngine {
        String grammar;
        final ReplayEngine replay;

        RecordingEngine(String query, String answer) {
            replay = new ReplayEngine(Collections.singletonMap(query, answer));
        }

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener) {
            return replay.generate(messages, maxNewTokens, listener);
        }

        @Override
        public Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener, String grammar) {
            this.grammar = grammar;
            return replay.generate(messages, maxNewTokens, listener);
        }

        @Override
        public void stop() {}

        @Override
        public void close() {}
    }

    @Test
    public void callFlowHandsAGrammarEngineTheRequestsGrammar() throws Exception {
        CallGrammar g = grammar();
        CallFlow flow = new CallFlow(Golden.schema(), Prompts.defaults(), 3, g);
        String query = "call 5550101";
        RecordingEngine engine = new RecordingEngine(query, "result0 = dial(phone_number=\"5550101\")");
        CallFlow.Outcome o = flow.ask(engine, query, 64, "UTC", null);
        assertTrue(o.constrained);
        assertEquals(g.build(query, o.functions), engine.grammar);
        assertTrue(o.ok());
        // an engine without grammar support decodes freely, and a flow without a builder never constrains
        CallFlow.Outcome free = new CallFlow(Golden.schema(), Prompts.defaults(), 3).ask(engine, query, 64, "UTC", null);
        assertTrue(!free.constrained);
    }
}
