package org.phonelm.demo.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/** The intent-calling mode end to end with the replay engine (what the logic-only APK runs). */
public class CallFlowTest {
    @Test
    public void replayedAnswerBecomesAPreviewThenRealIntents() throws Exception {
        Map<String, String> answers = new HashMap<String, String>();
        answers.put("call Anna", "result0 = get_contact_info(name=\"Anna\", key=\"phone\")\nresult1 = dial(phone_number=result0)");
        CallFlow flow = new CallFlow(Golden.schema(), Prompts.defaults(), 3);
        final StringBuilder streamed = new StringBuilder();
        CallFlow.Outcome out = flow.ask(new ReplayEngine(answers), "call Anna", 64, "UTC", new Engine.TokenListener() {
            @Override
            public void onPiece(String piece) {
                streamed.append(piece);
            }
        });
        assertEquals(out.output, streamed.toString());
        assertTrue(out.functions.contains("dial"));
        assertTrue(out.ok());
        assertEquals("tel:result0", out.preview.get(1).intent.data);
        List<Map<String, Object>> contacts = new ArrayList<Map<String, Object>>();
        Map<String, Object> anna = new LinkedHashMap<String, Object>();
        anna.put("name", "Anna");
        anna.put("phone", "+1 555");
        contacts.add(anna);
        List<Step> fired = flow.execute(out, new SimulatedDevice(contacts), "UTC");
        assertEquals("tel:%2B1%20555", fired.get(1).intent.data);
    }

    @Test
    public void unknownQueriesAreEchoedAndReportedAsNotACall() throws Exception {
        CallFlow flow = new CallFlow(Golden.schema(), Prompts.defaults(), 3);
        CallFlow.Outcome out = flow.ask(new ReplayEngine(null), "sing a song", 64, "UTC", null);
        assertEquals("You said: sing a song", out.output);
        assertNotNull(out.parseError);
        assertFalse(out.ok());
    }

    @Test
    public void stopEndsGenerationEarly() throws Exception {
        final ReplayEngine engine = new ReplayEngine(null);
        List<ChatMessage> msgs = new ArrayList<ChatMessage>();
        msgs.add(new ChatMessage("user", "one two three four five"));
        Engine.Result r = engine.generate(msgs, 64, new Engine.TokenListener() {
            @Override
            public void onPiece(String piece) {
                engine.stop();
            }
        });
        assertEquals(1, r.tokens);
    }
}
