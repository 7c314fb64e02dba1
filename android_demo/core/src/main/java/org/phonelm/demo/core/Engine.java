package org.phonelm.demo.core;

import java.io.Closeable;
import java.util.List;

/**
 * One on-device runtime. Implementations: llama.cpp (GGUF over JNI), ExecuTorch (LlmModule over
 * a .pte), MLC (MLCEngine over a compiled model library), and {@link ReplayEngine} with no
 * native code. Generation stops at {@code <|im_end|>} / {@code <|endoftext|>}.
 */
public interface Engine extends Closeable {
    /** Receives decoded text pieces while generating (on the generating thread). */
    interface TokenListener {
        void onPiece(String piece);
    }

    /** What a generation produced and how fast. */
    final class Result {
        public final String text;
        public final int tokens;
        public final double seconds;

        public Result(String text, int tokens, double seconds) {
            this.text = text;
            this.tokens = tokens;
            this.seconds = seconds;
        }

        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0.0;
        }
    }

    String name();

    /** Chat completion for these messages (the engine renders ChatML itself or passes them to its runtime's template). */
    Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener) throws Exception;

    /** Ask a running generation to stop early (from another thread). */
    void stop();
}
