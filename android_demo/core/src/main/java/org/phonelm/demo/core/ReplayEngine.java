package org.phonelm.demo.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An engine without a model, for the logic-only APK and tests: replays a recorded answer when the
 * query is known (the app config's "replay" list: query -> model output), otherwise echoes the
 * user's last message. Streams word by word so the UI path is the same as with a real engine.
 */
public final class ReplayEngine implements Engine {
    private final Map<String, String> answers = new LinkedHashMap<String, String>();
    private volatile boolean stopped;

    public ReplayEngine(Map<String, String> answers) {
        if (answers != null) this.answers.putAll(answers);
    }

    @Override
    public String name() {
        return "replay";
    }

    /** The query inside a call prompt (after "Now my query is: "), else the whole message. */
    static String queryOf(String user) {
        String marker = "Now my query is: ";
        int at = user.lastIndexOf(marker);
        return Values.strip(at < 0 ? user : user.substring(at + marker.length()));
    }

    @Override
    public Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener) {
        stopped = false;
        long t0 = System.nanoTime();
        String user = "";
        for (ChatMessage m : messages) if (m.role.equals("user")) user = m.content;
        String query = queryOf(user);
        String text = answers.containsKey(query) ? answers.get(query) : "You said: " + query;
        StringBuilder out = new StringBuilder();
        int tokens = 0;
        int k = 0;
        while (k < text.length() && tokens < maxNewTokens && !stopped) {
            int next = text.indexOf(' ', k + 1);
            next = next < 0 ? text.length() : next;
            String piece = text.substring(k, next);
            out.append(piece);
            tokens++;
            if (listener != null) listener.onPiece(piece);
            k = next;
        }
        return new Result(out.toString(), tokens, (System.nanoTime() - t0) / 1e9);
    }

    @Override
    public void stop() {
        stopped = true;
    }

    @Override
    public void close() {}
}
