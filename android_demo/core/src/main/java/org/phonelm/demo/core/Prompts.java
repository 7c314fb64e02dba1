package org.phonelm.demo.core;

import java.util.ArrayList;
import java.util.List;

import org.json.JSONObject;

/**
 * PhoneLM's prompt formats (phonelm-facts §5): ChatML with a default system prompt, and the
 * DroidCall intent-calling prompt. The strings default to phonelm_export/prompts/call.toml and
 * can be replaced by the "prompts" object of the app config that phonelm-export android writes.
 */
public final class Prompts {
    public static final String DEFAULT_SYSTEM = "You are a helpful assistant.";
    public static final int IM_END_ID = 2, ENDOFTEXT_ID = 0;

    public final String callSystem, userPrefix, docSeparator, userMiddle, userSuffix;
    public final int maxDocs;

    public Prompts(String callSystem, String userPrefix, String docSeparator, String userMiddle, String userSuffix, int maxDocs) {
        this.callSystem = callSystem;
        this.userPrefix = userPrefix;
        this.docSeparator = docSeparator;
        this.userMiddle = userMiddle;
        this.userSuffix = userSuffix;
        this.maxDocs = maxDocs;
    }

    public static Prompts defaults() {
        StringBuilder sep = new StringBuilder("\n");
        for (int k = 0; k < 50; k++) sep.append('=');
        sep.append('\n');
        return new Prompts("You are an expert in composing functions.", "\nHere is a list of functions:\n", sep.toString(),
                "\n\n\n\n\n\n\n\nNow my query is: ", "\n", 4);
    }

    /** From the "prompts" object of the app config (keys as in call.toml); missing keys keep the defaults. */
    public static Prompts fromJson(JSONObject o) {
        Prompts d = defaults();
        return new Prompts(o.optString("system", d.callSystem), o.optString("user_prefix", d.userPrefix),
                o.optString("doc_separator", d.docSeparator), o.optString("user_middle", d.userMiddle),
                o.optString("user_suffix", d.userSuffix), o.optInt("max_docs", d.maxDocs));
    }

    /** The messages of an intent-calling request. */
    public List<ChatMessage> callMessages(String query, List<String> docs) {
        if (docs.size() > maxDocs) throw new IllegalArgumentException("at most " + maxDocs + " function docs fit the call prompt");
        StringBuilder user = new StringBuilder(userPrefix);
        for (int k = 0; k < docs.size(); k++) {
            if (k > 0) user.append(docSeparator);
            user.append(docs.get(k));
        }
        user.append(userMiddle).append(query).append(userSuffix);
        List<ChatMessage> out = new ArrayList<ChatMessage>();
        out.add(new ChatMessage("system", callSystem));
        out.add(new ChatMessage("user", user.toString()));
        return out;
    }

    /** ChatML, adding the default system turn when the first message is not a system message. */
    public static String renderChat(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < messages.size(); k++) {
            ChatMessage m = messages.get(k);
            if (k == 0 && !m.role.equals("system")) sb.append("<|im_start|>system\n").append(DEFAULT_SYSTEM).append("<|im_end|>\n");
            sb.append("<|im_start|>").append(m.role).append('\n').append(m.content).append("<|im_end|>\n");
        }
        if (addGenerationPrompt) sb.append("<|im_start|>assistant\n");
        return sb.toString();
    }
}
