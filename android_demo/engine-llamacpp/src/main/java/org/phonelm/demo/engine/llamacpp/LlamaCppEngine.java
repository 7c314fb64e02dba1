package org.phonelm.demo.engine.llamacpp;

import java.io.File;
import java.util.List;

import org.json.JSONException;
import org.json.JSONObject;
import org.phonelm.demo.core.ChatMessage;
import org.phonelm.demo.core.Engine;
import org.phonelm.demo.core.Prompts;

/**
 * llama.cpp over JNI (src/main/cpp) running the bundle's GGUF. phonelm-export's default 'compat'
 * GGUF encoding loads in stock llama.cpp; the prompt is ChatML rendered by the shared core.
 *
 * <p>Java 8 like the core, so the project's CI compiles this very class with the JDK's javac and
 * runs it on the JVM against a host build of the JNI bridge (tests/test_android_jni.py,
 * src/hostTest); Android Studio compiles it unchanged next to the Kotlin modules.
 */
public final class LlamaCppEngine implements Engine {
    static {
        System.loadLibrary("phonelm_llama");
    }

    public static final int DEFAULT_CONTEXT = 2048;

    private volatile long handle;

    /** The engine the app creates (by reflection, see EngineFactory) for a bundle with engine "gguf". */
    public LlamaCppEngine(File bundleDir, JSONObject config) throws JSONException {
        this(new File(bundleDir, config.getString("model")), DEFAULT_CONTEXT,
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
    }

    public LlamaCppEngine(File model, int contextTokens, int threads) {
        if (!model.isFile()) throw new IllegalArgumentException("no GGUF file at " + model);
        handle = nativeLoad(model.getPath(), contextTokens, threads);
        if (handle == 0L) throw new IllegalStateException("llama.cpp could not load " + model.getName());
    }

    @Override
    public String name() {
        return "llama.cpp";
    }

    @Override
    public Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener) {
        return generate(messages, maxNewTokens, listener, null);
    }

    /**
     * Greedy chat completion constrained by a GBNF grammar (start rule {@code root}, llama.cpp's
     * grammar syntax), or unconstrained when {@code grammar} is null. An unparsable grammar or a
     * prompt longer than the context throws IllegalArgumentException.
     */
    public Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener, String grammar) {
        return complete(Prompts.renderChat(messages, true), maxNewTokens, listener, grammar);
    }

    /**
     * Greedy continuation of an already rendered prompt (special tokens such as {@code <|im_start|>} parsed).
     * One generation at a time: synchronized with {@link #close()}, which therefore waits for a running
     * generation (call {@link #stop()} first) instead of freeing the model under it.
     */
    public synchronized Result complete(String prompt, int maxNewTokens, final TokenListener listener, String grammar) {
        final StringBuilder out = new StringBuilder();
        TokenListener sink = new TokenListener() {
            @Override
            public void onPiece(String piece) {
                out.append(piece);
                if (listener != null) listener.onPiece(piece);
            }
        };
        long t0 = System.nanoTime();
        int tokens = nativeGenerate(open(), prompt, maxNewTokens, grammar, sink);
        return new Result(out.toString(), tokens, (System.nanoTime() - t0) / 1e9);
    }

    /** The token ids llama.cpp reads for this text (special tokens parsed, no BOS): what a prompt costs in context. */
    public synchronized int[] tokenize(String text) {
        return nativeTokenize(open(), text);
    }

    /** Not synchronized: it is how another thread ends a running generation early. */
    @Override
    public void stop() {
        long h = handle;
        if (h != 0L) nativeStop(h);
    }

    @Override
    public synchronized void close() {
        long h = handle;
        handle = 0L;
        if (h != 0L) nativeFree(h);
    }

    private long open() {
        long h = handle;
        if (h == 0L) throw new IllegalStateException("the llama.cpp engine is closed");
        return h;
    }

    private static native long nativeLoad(String path, int nCtx, int nThreads);

    private static native int[] nativeTokenize(long handle, String text);

    private static native int nativeGenerate(long handle, String prompt, int maxNew, String grammar, TokenListener listener);

    private static native void nativeStop(long handle);

    private static native void nativeFree(long handle);
}
