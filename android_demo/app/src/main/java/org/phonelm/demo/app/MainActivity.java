package org.phonelm.demo.app;

import android.app.Activity;
import android.content.Intent;
import android.graphics.Typeface;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.view.View;
import android.widget.Button;
import android.widget.EditText;
import android.widget.LinearLayout;
import android.widget.ScrollView;
import android.widget.TextView;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.TimeZone;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.phonelm.demo.core.CallFlow;
import org.phonelm.demo.core.ChatMessage;
import org.phonelm.demo.core.Engine;
import org.phonelm.demo.core.Step;

/**
 * Two modes on one screen. Chat: ChatML turns streamed from the engine, tokens/s shown.
 * Call: the request goes through the intent-calling flow; the parsed calls and the intents they
 * become are shown first (errors per call), and fire only after "Run".
 * Views are built in code so the logic-only APK needs no compiled resources.
 */
public class MainActivity extends Activity {
    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final Handler ui = new Handler(Looper.getMainLooper());
    private final List<ChatMessage> history = new ArrayList<ChatMessage>();
    private TextView log;
    private ScrollView scroll;
    private EditText input;
    private Button mode, run;
    private boolean callMode = true;
    private AppConfig config;
    private Engine engine;
    private CallFlow flow;
    private CallFlow.Outcome pending;
    private PhoneDevice device;

    @Override
    protected void onCreate(Bundle state) {
        super.onCreate(state);
        LinearLayout root = new LinearLayout(this);
        root.setOrientation(LinearLayout.VERTICAL);
        LinearLayout bar = new LinearLayout(this);
        mode = new Button(this);
        run = new Button(this);
        run.setText("Run intents");
        run.setEnabled(false);
        Button stop = new Button(this);
        stop.setText("Stop");
        bar.addView(mode);
        bar.addView(run);
        bar.addView(stop);
        log = new TextView(this);
        log.setTypeface(Typeface.MONOSPACE);
        log.setTextIsSelectable(true);
        scroll = new ScrollView(this);
        scroll.addView(log);
        input = new EditText(this);
        input.setHint("wake me up at 7:30");
        Button send = new Button(this);
        send.setText("Send");
        root.addView(bar);
        root.addView(scroll, new LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, 0, 1f));
        root.addView(input);
        root.addView(send);
        setContentView(root);
        updateMode();

        mode.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                callMode = !callMode;
                updateMode();
            }
        });
        send.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                String text = input.getText().toString().trim();
                if (!text.isEmpty() && engine != null) {
                    input.setText("");
                    if (callMode) ask(text); else chat(text);
                }
            }
        });
        stop.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                if (engine != null) engine.stop();
            }
        });
        run.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                fire();
            }
        });
        device = new PhoneDevice(this);
        worker.execute(new Runnable() {
            @Override
            public void run() {
                load();
            }
        });
    }

    private void updateMode() {
        mode.setText(callMode ? "Mode: intents" : "Mode: chat");
    }

    private void append(final String s) {
        ui.post(new Runnable() {
            @Override
            public void run() {
                log.append(s);
                scroll.fullScroll(View.FOCUS_DOWN);
            }
        });
    }

    private void load() {
        try {
            File models = new File(getExternalFilesDir(null), "models");
            config = AppConfig.fromModelsDir(models);
            if (config == null) {
                config = AppConfig.fromAssets(getAssets());
                append("no bundle in " + models + "; using the built-in replay bundle\n");
            }
            StringBuilder note = new StringBuilder();
            engine = EngineFactory.create(config, note);
            if (note.length() > 0) append(note + "\n");
            flow = new CallFlow(config.schema, config.prompts, config.retrievalK());
            append("engine: " + engine.name() + ", model: " + config.json.optString("model_name", "?") + "\n");
        } catch (Exception e) {
            append("could not load the model bundle: " + e + "\n");
        }
    }

    private void chat(final String text) {
        history.add(new ChatMessage("user", text));
        append("\n> " + text + "\n");
        worker.execute(new Runnable() {
            @Override
            public void run() {
                try {
                    Engine.Result r = engine.generate(history, config.maxNewTokens(), new Engine.TokenListener() {
                        @Override
                        public void onPiece(String piece) {
                            append(piece);
                        }
                    });
                    history.add(new ChatMessage("assistant", r.text));
                    append(String.format("\n[%d tokens, %.1f tokens/s]\n", r.tokens, r.tokensPerSecond()));
                } catch (Exception e) {
                    append("\nerror: " + e.getMessage() + "\n");
                }
            }
        });
    }

    private void ask(final String query) {
        append("\n> " + query + "\n");
        worker.execute(new Runnable() {
            @Override
            public void run() {
                try {
                    CallFlow.Outcome out = flow.ask(engine, query, config.maxNewTokens(), TimeZone.getDefault().getID(), null);
                    append("docs: " + out.functions + "\n" + out.output + "\n");
                    append(String.format("[%d tokens, %.1f tokens/s]\n", out.generation.tokens, out.generation.tokensPerSecond()));
                    if (out.parseError != null) {
                        append("not a valid call: " + out.parseError + "\n");
                        return;
                    }
                    for (Step s : out.preview) append(describe(s));
                    if (out.ok()) {
                        pending = out;
                        ui.post(new Runnable() {
                            @Override
                            public void run() {
                                run.setEnabled(true);
                            }
                        });
                        append("press 'Run intents' to fire them\n");
                    }
                } catch (Exception e) {
                    append("error: " + e.getMessage() + "\n");
                }
            }
        });
    }

    private static String describe(Step s) {
        if (s.error != null) return "  result" + s.call + " " + s.function + ": ERROR " + s.error.getMessage() + "\n";
        if (s.query != null) return "  result" + s.call + " = contacts: " + s.query.key + " of " + s.query.by + " '" + s.query.value + "'\n";
        return "  result" + s.call + " = " + s.intent.action + (s.intent.data != null ? " " + s.intent.data : "")
                + (s.intent.type != null ? " [" + s.intent.type + "]" : "") + " " + s.intent.extras.size() + " extras\n";
    }

    private void fire() {
        final CallFlow.Outcome out = pending;
        pending = null;
        run.setEnabled(false);
        if (out == null) return;
        worker.execute(new Runnable() {
            @Override
            public void run() {
                for (Step s : flow.execute(out, device, TimeZone.getDefault().getID()))
                    append(s.error != null ? "  failed: " + s.error.getMessage() + "\n" : "  done: " + s.function + (s.result != null ? " -> " + s.result : "") + "\n");
            }
        });
    }

    @Override
    protected void onActivityResult(int requestCode, int resultCode, Intent data) {
        super.onActivityResult(requestCode, resultCode, data);
        if (requestCode == PhoneDevice.REQUEST) device.deliver(resultCode, data);
    }

    @Override
    protected void onDestroy() {
        worker.shutdownNow();
        try {
            if (engine != null) engine.close();
        } catch (java.io.IOException ignored) {
            // closing at exit: nothing to recover
        }
        super.onDestroy();
    }
}
