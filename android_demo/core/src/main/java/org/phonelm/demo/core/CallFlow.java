package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The intent-calling mode end to end: retrieve docs for the query, build the Call prompt, generate,
 * parse, and plan (a dry-run preview the user confirms; then the app plans again with its real
 * device, which fires the intents).
 */
public final class CallFlow {
    /** One request's outcome: what the model said and what it would do. */
    public static final class Outcome {
        public final String query;
        public final List<String> functions;
        public final String output;
        public final List<Call> calls;
        public final String parseError;
        public final List<Step> preview;
        public final Engine.Result generation;
        /** Whether the engine decoded under the request's grammar (only a {@link GrammarEngine} can). */
        public final boolean constrained;

        Outcome(String query, List<String> functions, String output, List<Call> calls, String parseError,
                List<Step> preview, Engine.Result generation, boolean constrained) {
            this.query = query;
            this.functions = functions;
            this.output = output;
            this.calls = calls;
            this.parseError = parseError;
            this.preview = preview;
            this.generation = generation;
            this.constrained = constrained;
        }

        public boolean ok() {
            if (parseError != null || preview.isEmpty()) return false;
            for (Step s : preview) if (s.error != null) return false;
            return true;
        }
    }

    private final FunctionSchema schema;
    private final Retrieval retrieval;
    private final Prompts prompts;
    private final Planner planner;
    private final int k;
    private final CallGrammar grammar; // null: never constrain

    public CallFlow(FunctionSchema schema, Prompts prompts, int k) {
        this(schema, prompts, k, null);
    }

    /** {@code grammar}: the request grammars' builder (from the app config's verbatim.json); null = unconstrained. */
    public CallFlow(FunctionSchema schema, Prompts prompts, int k, CallGrammar grammar) {
        this.schema = schema;
        this.retrieval = new Retrieval(schema);
        this.prompts = prompts;
        this.planner = new Planner(new IntentMapper(schema));
        this.k = k;
        this.grammar = grammar;
    }

    /** The GBNF of the valid outputs for this request (null when this flow has no grammar builder). */
    public String grammarFor(String query, List<String> functions) throws Exception {
        return grammar == null ? null : grammar.build(query, functions);
    }

    public List<ChatMessage> messages(String query, List<String> functions) {
        List<String> docs = new ArrayList<String>();
        for (String f : functions) docs.add(schema.renderDoc(f));
        return prompts.callMessages(query, docs);
    }

    public Outcome ask(Engine engine, String query, int maxNewTokens, String zone, Engine.TokenListener listener) throws Exception {
        List<String> functions = retrieval.select(query, k);
        // constrained whenever the engine can apply a grammar: then the output always parses and maps
        String gbnf = null;
        if (engine instanceof GrammarEngine) {
            try {
                gbnf = grammarFor(query, functions);
            } catch (CallGrammar.NoValidCallException e) {
                gbnf = null; // no call is possible for this request (e.g. no words): decode freely, the preview says why
            }
        }
        Engine.Result r = gbnf != null
                ? ((GrammarEngine) engine).generate(messages(query, functions), maxNewTokens, listener, gbnf)
                : engine.generate(messages(query, functions), maxNewTokens, listener);
        List<Call> calls = new ArrayList<Call>();
        String error = null;
        List<Step> preview = new ArrayList<Step>();
        try {
            calls = CallParser.parse(r.text);
            preview = planner.plan(calls, SimulatedDevice.dryRunDevice(), zone);
        } catch (CallParseException e) {
            error = e.getMessage();
        }
        return new Outcome(query, functions, r.text, calls, error, preview, r, gbnf != null);
    }

    /** Run the confirmed calls for real, call by call, on the app's device. */
    public List<Step> execute(Outcome outcome, Device device, String zone) {
        return planner.plan(outcome.calls, device, zone);
    }
}
