package org.phonelm.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;

import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/** Every parse vector: the same calls, or the same error message, as the Python parser. */
public class ParserGoldenTest {
    @Test
    public void parsesEveryGoldenOutputLikePython() throws Exception {
        JSONArray cases = Golden.load("parse.json").getJSONArray("cases");
        assertTrue(cases.length() >= 30);
        List<String> failures = new ArrayList<String>();
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            String name = c.getString("name");
            try {
                List<Call> calls = CallParser.parse(c.getString("output"));
                if (c.has("error")) {
                    failures.add(name + ": expected error " + c.getString("error") + ", parsed " + calls.size() + " calls");
                    continue;
                }
                List<Object> got = new ArrayList<Object>();
                for (Call call : calls) got.add(call.toJson());
                Object want = Values.fromOrgJson(c.getJSONArray("calls"));
                if (!Values.deepEquals(got, want)) failures.add(name + ": got " + got + " want " + want);
            } catch (CallParseException e) {
                if (!c.has("error")) failures.add(name + ": unexpected error " + e.getMessage());
                else if (!e.getMessage().equals(c.getString("error")))
                    failures.add(name + ": message '" + e.getMessage() + "' != '" + c.getString("error") + "'");
            }
        }
        if (!failures.isEmpty()) fail(String.join("\n", failures));
    }

    @Test
    public void renderedCallsParseBack() throws Exception {
        String text = "result0 = get_contact_info(name=\"Anna\", key=\"email\")\n"
                + "result1 = send_email(to=[result0], subject=\"Hi \\\"you\\\"\", body=\"a\\nb\", cc=None)";
        List<Call> calls = CallParser.parse(text);
        StringBuilder sb = new StringBuilder();
        for (Call c : calls) sb.append(c.render()).append('\n');
        List<Call> again = CallParser.parse(sb.toString());
        assertEquals(calls.size(), again.size());
        for (int k = 0; k < calls.size(); k++) assertTrue(Values.deepEquals(calls.get(k).toJson(), again.get(k).toJson()));
        assertEquals(new ResultRef(0), ((List<?>) calls.get(1).arguments.get("to")).get(0));
    }

    @Test
    public void randomNoiseOnlyEverRaisesCallParseException() {
        java.util.Random rng = new java.util.Random(7);
        String alphabet = "result0123456789 =(),[]{}:\"'\\$#<>/_\n\t.-+eETFNu";
        for (int n = 0; n < 20000; n++) {
            StringBuilder sb = new StringBuilder();
            int len = rng.nextInt(40);
            for (int k = 0; k < len; k++) sb.append(alphabet.charAt(rng.nextInt(alphabet.length())));
            try {
                CallParser.parse(sb.toString());
            } catch (CallParseException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("line "));
            }
        }
    }
}
