package org.phonelm.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/** Every plan vector: the same intents (action, data, type, categories, typed extras), results and errors as Python. */
public class PlanGoldenTest {
    @Test
    @SuppressWarnings("unchecked")
    public void mapsEveryGoldenOutputLikePython() throws Exception {
        JSONObject golden = Golden.load("plan.json");
        List<Map<String, Object>> contacts = (List<Map<String, Object>>) Values.fromOrgJson(golden.getJSONArray("contacts"));
        Planner planner = new Planner(new IntentMapper(Golden.schema()));
        JSONArray cases = golden.getJSONArray("cases");
        List<String> failures = new ArrayList<String>();
        int steps = 0;
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            List<Step> plan = planner.plan(CallParser.parse(c.getString("output")), new SimulatedDevice(contacts), golden.getString("timezone"));
            List<Object> got = new ArrayList<Object>();
            for (Step s : plan) got.add(s.toJson());
            List<Object> want = (List<Object>) Values.fromOrgJson(c.getJSONArray("steps"));
            steps += want.size();
            if (!Values.deepEquals(got, want)) {
                for (int j = 0; j < Math.max(got.size(), want.size()); j++) {
                    Object g = j < got.size() ? got.get(j) : null, w = j < want.size() ? want.get(j) : null;
                    if (!Values.deepEquals(g, w)) failures.add(c.getString("name") + " step " + j + ":\n  got  " + g + "\n  want " + w);
                }
            }
        }
        assertTrue(steps > 60);
        if (!failures.isEmpty()) fail(String.join("\n", failures));
    }

    @Test
    public void dryRunNamesResultsAndKeepsErrorsPerCall() throws Exception {
        Planner planner = new Planner(new IntentMapper(Golden.schema()));
        List<Step> plan = planner.plan(CallParser.parse(
                "result0 = get_contact_info(name=\"Anna\", key=\"phone\")\nresult1 = dial(phone_number=result0)\nresult2 = nope()"),
                SimulatedDevice.dryRunDevice(), "UTC");
        assertEquals("result0", plan.get(0).result);
        assertEquals("tel:result0", plan.get(1).intent.data);
        assertEquals("unknown_function", plan.get(2).error.code);
    }
}
