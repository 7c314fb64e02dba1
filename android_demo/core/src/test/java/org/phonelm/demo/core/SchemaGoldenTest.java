package org.phonelm.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.json.JSONArray;
import org.json.JSONObject;
import org.junit.Test;

/** Docs, retrieval, prompts and value conversions agree with the Python package. */
public class SchemaGoldenTest {
    @Test
    public void rendersTheSameDocsForAll24Functions() throws Exception {
        FunctionSchema schema = Golden.schema();
        JSONObject docs = Golden.load("docs.json").getJSONObject("docs");
        assertEquals(24, schema.names().size());
        assertEquals(24, docs.length());
        Iterator<String> it = docs.keys();
        while (it.hasNext()) {
            String name = it.next();
            assertEquals(name, docs.getString(name), schema.renderDoc(name));
        }
    }

    @Test
    public void retrievesTheSameTopThree() throws Exception {
        Retrieval r = new Retrieval(Golden.schema());
        JSONArray cases = Golden.load("docs.json").getJSONArray("retrieval");
        List<String> failures = new ArrayList<String>();
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            Object want = Values.fromOrgJson(c.getJSONArray("top3"));
            List<String> got = r.select(c.getString("query"), 3);
            if (!Values.deepEquals(new ArrayList<Object>(got), want)) failures.add(c.getString("query") + ": " + got + " != " + want);
        }
        if (!failures.isEmpty()) fail(String.join("\n", failures));
    }

    @Test
    public void buildsTheSameChatAndCallPrompts() throws Exception {
        FunctionSchema schema = Golden.schema();
        JSONObject docs = Golden.load("docs.json");
        CallFlow flow = new CallFlow(schema, Prompts.defaults(), 3);
        JSONArray calls = docs.getJSONArray("call_prompts");
        for (int k = 0; k < calls.length(); k++) {
            JSONObject c = calls.getJSONObject(k);
            List<String> fns = new ArrayList<String>();
            for (int j = 0; j < c.getJSONArray("functions").length(); j++) fns.add(c.getJSONArray("functions").getString(j));
            assertEquals(fns, new Retrieval(schema).select(c.getString("query"), 3));
            assertEquals(c.getString("chatml"), Prompts.renderChat(flow.messages(c.getString("query"), fns), true));
        }
        JSONArray chats = docs.getJSONArray("chat_prompts");
        for (int k = 0; k < chats.length(); k++) {
            JSONObject c = chats.getJSONObject(k);
            List<ChatMessage> msgs = new ArrayList<ChatMessage>();
            JSONArray ms = c.getJSONArray("messages");
            for (int j = 0; j < ms.length(); j++) msgs.add(new ChatMessage(ms.getJSONObject(j).getString("role"), ms.getJSONObject(j).getString("content")));
            assertEquals(c.getString("chatml"), Prompts.renderChat(msgs, true));
        }
    }

    @Test
    public void convertsDurationsTimesAndUrlsLikePython() throws Exception {
        JSONObject v = Golden.load("values.json");
        JSONArray d = v.getJSONArray("durations");
        for (int k = 0; k < d.length(); k++) {
            JSONObject c = d.getJSONObject(k);
            Long got;
            try {
                got = Conversions.durationSeconds(c.getString("text"));
            } catch (IllegalArgumentException e) {
                got = null;
            }
            if (c.isNull("seconds")) assertNull(c.getString("text"), got);
            else assertEquals(c.getString("text"), Long.valueOf(c.getLong("seconds")), got);
        }
        JSONArray iso = v.getJSONArray("iso8601");
        for (int k = 0; k < iso.length(); k++) {
            JSONObject c = iso.getJSONObject(k);
            Long got;
            try {
                got = Conversions.isoToEpochMs(c.getString("text"), c.getString("timezone"));
            } catch (IllegalArgumentException e) {
                got = null;
            }
            String label = c.getString("text") + " @" + c.getString("timezone");
            if (c.isNull("epoch_ms")) assertNull(label, got);
            else assertEquals(label, Long.valueOf(c.getLong("epoch_ms")), got);
        }
        JSONArray urls = v.getJSONArray("url_encode");
        for (int k = 0; k < urls.length(); k++)
            assertEquals(urls.getJSONObject(k).getString("encoded"), Conversions.urlEncode(urls.getJSONObject(k).getString("text")));
    }
}
