package org.phonelm.demo.engine.llamacpp;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.phonelm.demo.core.CallFlow;
import org.phonelm.demo.core.CallGrammar;
import org.phonelm.demo.core.ChatMessage;
import org.phonelm.demo.core.Engine;
import org.phonelm.demo.core.FunctionSchema;
import org.phonelm.demo.core.Prompts;
import org.phonelm.demo.core.Retrieval;
import org.phonelm.demo.core.Step;
import org.phonelm.demo.core.Values;

/**
 * The app's llama.cpp engine on the JVM: this module's Java class and JNI bridge (built for the
 * host against a stock libllama), driven by the Java core, on the app bundle that
 * {@code phonelm-export android --engine gguf} wrote (its GGUF, prompts, functions and settings,
 * read as the app's AppConfig reads them).
 * The expected values come from the Python side (tests/test_android_jni.py): the PyTorch
 * reference's greedy replies and the desktop intent flow ({@code phonelm-export call}) for the
 * same prompts and queries. Not a Gradle unit test (the host library is not built there), so
 * it lives in its own source set, like core/src/sdkTest.
 *
 * <p>System properties: phonelm.bundle (the bundle directory), phonelm.expected (the Python side's
 * JSON), phonelm.verbatim (the grammar's verbatim.json); java.library.path must hold libphonelm_llama.so.
 */
public class LlamaCppEngineHostTest {
    private static LlamaCppEngine engine;
    private static JSONObject expected, config;
    private static File bundle, model;
    private static FunctionSchema schema;

    private static String property(String name) {
        String v = System.getProperty(name);
        if (v == null) throw new IllegalStateException("set -D" + name);
        return v;
    }

    private static String read(String path) throws IOException {
        return new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
    }

    @BeforeClass
    public static void load() throws IOException, JSONException {
        expected = new JSONObject(read(property("phonelm.expected")));
        bundle = new File(property("phonelm.bundle"));
        config = new JSONObject(read(new File(bundle, "phonelm-app.json").getPath()));
        schema = FunctionSchema.fromJson(read(new File(bundle, config.getJSONObject("intents").optString("functions_file", "functions.json")).getPath()));
        model = new File(bundle, config.getString("model"));
        // one thread: on a tiny model and a shared 2-core machine, a second thread only adds waiting (measured 2x slower)
        engine = new LlamaCppEngine(model, 2048, 1);
    }

    @AfterClass
    public static void close() {
        if (engine != null) engine.close();
    }

    private static List<ChatMessage> messages(JSONArray a) throws JSONException {
        List<ChatMessage> out = new ArrayList<ChatMessage>();
        for (int k = 0; k < a.length(); k++) out.add(new ChatMessage(a.getJSONObject(k).getString("role"), a.getJSONObject(k).getString("content")));
        return out;
    }

    private static int[] ints(JSONArray a) throws JSONException {
        int[] out = new int[a.length()];
        for (int k = 0; k < out.length; k++) out[k] = a.getInt(k);
        return out;
    }

    /** A listener that records what was streamed. */
    private static final class Recorder implements Engine.TokenListener {
        final StringBuilder text = new StringBuilder();
        int pieces;

        @Override
        public void onPiece(String piece) {
            text.append(piece);
            pieces++;
        }
    }

    @Test
    public void chatPromptsAreRenderedAndTokenizedAsInPython() throws Exception {
        JSONArray cases = expected.getJSONArray("chat");
        assertTrue(cases.length() >= 2);
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            String prompt = Prompts.renderChat(messages(c.getJSONArray("messages")), true);
            assertEquals(c.getString("prompt"), prompt);
            // UTF-16 -> UTF-8 in the bridge: non-ASCII text (an emoji among it) reaches llama.cpp as the HF tokenizer's bytes
            assertArrayEquals("prompt " + k, ints(c.getJSONArray("prompt_ids")), engine.tokenize(prompt));
        }
    }

    @Test
    public void chatRepliesEqualThePyTorchReferenceGreedyReplies() throws Exception {
        JSONArray cases = expected.getJSONArray("chat");
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            Recorder rec = new Recorder();
            Engine.Result r = engine.generate(messages(c.getJSONArray("messages")), c.getInt("max_new_tokens"), rec);
            assertEquals("reply " + k, c.getString("reply"), r.text);
            assertEquals("reply " + k + " tokens", c.getInt("reply_tokens"), r.tokens);
            assertEquals(r.text, rec.text.toString());
            assertTrue(r.tokens > 0 && rec.pieces > 0 && rec.pieces <= r.tokens);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    public void intentFlowMapsEachQueryToThePythonFlowsIntents() throws Exception {
        JSONArray cases = expected.getJSONArray("calls");
        assertTrue(cases.length() >= 2);
        // as the app sets it up (AppConfig, MainActivity): the bundle's call prompt, retrieval k and token budget
        CallFlow flow = new CallFlow(schema, Prompts.fromJson(config.getJSONObject("prompts").getJSONObject("call")),
                config.getJSONObject("intents").getInt("retrieval_k"));
        int maxNew = config.getJSONObject("sampling").getInt("max_new_tokens");
        int okCount = 0;
        for (int k = 0; k < cases.length(); k++) {
            JSONObject c = cases.getJSONObject(k);
            String query = c.getString("query");
            CallFlow.Outcome out = flow.ask(engine, query, maxNew, "UTC", null);
            assertEquals(query, Values.fromOrgJson(c.getJSONArray("functions")), out.functions);
            String prompt = Prompts.renderChat(flow.messages(query, out.functions), true);
            assertArrayEquals(query + ": prompt ids", ints(c.getJSONArray("prompt_ids")), engine.tokenize(prompt));
            assertEquals(query + ": model output", c.getString("output"), out.output);
            assertEquals(query + ": parse error", c.isNull("parse_error") ? null : c.getString("parse_error"), out.parseError);
            List<Object> got = new ArrayList<Object>();
            for (Step s : out.preview) got.add(s.toJson());
            List<Object> want = (List<Object>) Values.fromOrgJson(c.getJSONArray("intents"));
            if (!Values.deepEquals(got, want)) fail(query + ":\n  got  " + got + "\n  want " + want);
            assertEquals(query + ": ok", c.getBoolean("ok"), out.ok());
            if (out.ok()) okCount++;
        }
        assertTrue("at least one query becomes intents (else the comparison shows little)", okCount >= 1);
    }

    /** The Engine interface over the llama.cpp engine, generating under whatever grammar is set. */
    private static final class Constrained implements Engine {
        String grammar;

        @Override
        public String name() {
            return engine.name();
        }

        @Override
        public Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener) {
            return engine.generate(messages, maxNewTokens, listener, grammar);
        }

        @Override
        public void stop() {
            engine.stop();
        }

        @Override
        public void close() {}
    }

    @Test
    @SuppressWarnings("unchecked")
    public void constrainedIntentFlowEqualsThePythonConstrainedFlow() throws Exception {
        // the core's CallGrammar (GBNF, the twin of the Python grammar) through llama.cpp's grammar sampler,
        // compared with phonelm-export call's default flow (the same grammar applied by llguidance)
        JSONArray cases = expected.getJSONArray("calls_constrained");
        assertTrue(cases.length() >= 2);
        CallGrammar grammar = new CallGrammar(schema, read(property("phonelm.verbatim")));
        int k = config.getJSONObject("intents").getInt("retrieval_k");
        CallFlow flow = new CallFlow(schema, Prompts.fromJson(config.getJSONObject("prompts").getJSONObject("call")), k);
        Retrieval retrieval = new Retrieval(schema);
        Constrained constrained = new Constrained();
        for (int j = 0; j < cases.length(); j++) {
            JSONObject c = cases.getJSONObject(j);
            String query = c.getString("query");
            constrained.grammar = grammar.build(query, retrieval.select(query, k));
            CallFlow.Outcome out = flow.ask(constrained, query, config.getJSONObject("sampling").getInt("max_new_tokens"), "UTC", null);
            assertEquals(query, Values.fromOrgJson(c.getJSONArray("functions")), out.functions);
            assertEquals(query + ": constrained output", c.getString("output"), out.output);
            List<Object> got = new ArrayList<Object>();
            for (Step s : out.preview) got.add(s.toJson());
            if (!Values.deepEquals(got, Values.fromOrgJson(c.getJSONArray("intents")))) fail(query + ":\n  got  " + got + "\n  want " + c.getJSONArray("intents"));
            assertTrue(query + ": a constrained output always parses and maps", out.ok());
        }
    }

    @Test
    public void theAppsConstructorRunsTheBundlesModel() throws Exception {
        // what EngineFactory calls by reflection for a bundle with engine "gguf"
        assertEquals("gguf", config.getString("engine"));
        LlamaCppEngine app = (LlamaCppEngine) Class.forName("org.phonelm.demo.engine.llamacpp.LlamaCppEngine")
                .getConstructor(File.class, JSONObject.class).newInstance(bundle, config);
        try {
            assertEquals("llama.cpp", app.name());
            JSONObject c = expected.getJSONArray("chat").getJSONObject(0);
            assertEquals(c.getString("reply"), app.generate(messages(c.getJSONArray("messages")), c.getInt("max_new_tokens"), null).text);
        } finally {
            app.close();
        }
    }

    private static List<ChatMessage> ask(String text) {
        return Arrays.asList(new ChatMessage("user", text));
    }

    @Test
    public void aGrammarRestrictsTheReplyToItsLanguage() {
        String q = "Is the sky blue? Answer yes or no.";
        Engine.Result free = engine.generate(ask(q), 24, null);
        Engine.Result r = engine.generate(ask(q), 24, null, "root ::= \"yes\" | \"no\"");
        assertTrue(r.text, r.text.equals("yes") || r.text.equals("no"));
        // a language the model would never produce on its own: three digits after a fixed word
        Engine.Result code = engine.generate(ask(q), 24, null, "root ::= \"code-\" [0-9] [0-9] [0-9]");
        assertTrue(code.text, code.text.matches("code-[0-9]{3}"));
        assertTrue("the unconstrained reply differs: " + free.text, !free.text.matches("code-[0-9]{3}"));
        // null grammar = unconstrained: the same reply as the Engine interface's method
        assertEquals(free.text, engine.generate(ask(q), 24, null, null).text);
    }

    @Test
    public void repliesCarryCharactersOutsideTheBasicPlane() {
        // UTF-8 -> UTF-16 in the bridge: a 4-byte character (split across byte tokens) arrives whole
        Recorder rec = new Recorder();
        Engine.Result r = engine.generate(ask("Say hi."), 32, rec, "root ::= \"\uD83D\uDE42 caf\u00E9\"");
        assertEquals("\uD83D\uDE42 caf\u00E9", r.text);
        assertEquals(r.text, rec.text.toString());
    }

    @Test
    public void anInvalidGrammarIsRejectedAndTheEngineKeepsWorking() throws Exception {
        try {
            engine.generate(ask("hello"), 8, null, "root ::= (");
            fail("an unparsable grammar was accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("grammar"));
        }
        JSONObject c = expected.getJSONArray("chat").getJSONObject(0);
        assertEquals(c.getString("reply"), engine.generate(messages(c.getJSONArray("messages")), c.getInt("max_new_tokens"), null).text);
    }

    @Test
    public void stopEndsGenerationAtTheCurrentToken() {
        Engine.TokenListener stopper = new Engine.TokenListener() {
            @Override
            public void onPiece(String piece) {
                engine.stop();
            }
        };
        Engine.Result r = engine.generate(ask("Tell me a long story about a phone."), 64, stopper);
        assertEquals(1, r.tokens);
    }

    @Test
    public void stopFromAnotherThreadEndsARunningGeneration() throws Exception {
        // the app's Stop button: the UI thread stops a generation running on a worker thread. The
        // grammar forces a reply of at least 80 pieces, so only stop() can end it early.
        final String grammar = "root ::= \"la \"{80}";
        int full = engine.generate(ask("Sing."), 400, null, grammar).tokens;
        assertTrue("forced length " + full, full >= 80);
        final Engine.TokenListener slow = new Engine.TokenListener() {
            @Override
            public void onPiece(String piece) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        final Engine.Result[] result = new Engine.Result[1];
        Thread worker = new Thread(new Runnable() {
            @Override
            public void run() {
                result[0] = engine.generate(ask("Sing."), 400, slow, grammar);
            }
        });
        worker.start();
        Thread.sleep(200);
        engine.stop();
        worker.join(60000);
        assertTrue("stopped after " + (result[0] == null ? "?" : result[0].tokens) + " of " + full,
                result[0] != null && result[0].tokens >= 1 && result[0].tokens < full);
    }

    @Test
    public void aPromptLongerThanTheContextIsRejected() throws Exception {
        LlamaCppEngine small = new LlamaCppEngine(model, 32, 1);
        try {
            StringBuilder longText = new StringBuilder();
            for (int k = 0; k < 1200; k++) longText.append("word ");  // llama.cpp may pad a small context up to 256
            small.generate(ask(longText.toString()), 8, null);
            fail("a prompt longer than the context was accepted");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("the context holds"));
        } finally {
            small.close();
        }
        try {
            small.tokenize("hi");
            fail("a closed engine ran");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage().contains("closed"));
        }
    }

    @Test
    public void aMissingModelFileIsAnError() {
        try {
            new LlamaCppEngine(new File(model.getPath() + ".missing"), 64, 1);
            fail("loaded a missing file");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("no GGUF file"));
        }
    }
}
