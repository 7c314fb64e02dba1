package org.phonelm.demo.engine.llamacpp

import org.json.JSONObject
import org.phonelm.demo.core.ChatMessage
import org.phonelm.demo.core.Engine
import org.phonelm.demo.core.Prompts
import java.io.File

/**
 * llama.cpp over JNI (src/main/cpp) running the bundle's GGUF. phonelm-export's default 'compat'
 * GGUF encoding loads in stock llama.cpp; the prompt is ChatML rendered by the shared core.
 * Not built on the project's CI (needs the Android NDK).
 */
class LlamaCppEngine(bundleDir: File, config: JSONObject) : Engine {
    private val handle: Long

    init {
        val model = File(bundleDir, config.getString("model"))
        handle = nativeLoad(model.path, 2048, Runtime.getRuntime().availableProcessors().coerceIn(1, 4))
        check(handle != 0L) { "llama.cpp could not load ${model.name}" }
    }

    override fun name(): String = "llama.cpp"

    override fun generate(messages: List<ChatMessage>, maxNewTokens: Int, listener: Engine.TokenListener?): Engine.Result {
        val out = StringBuilder()
        val t0 = System.nanoTime()
        val sink = Engine.TokenListener { piece ->
            out.append(piece)
            listener?.onPiece(piece)
        }
        val tokens = nativeGenerate(handle, Prompts.renderChat(messages, true), maxNewTokens, sink)
        return Engine.Result(out.toString(), tokens, (System.nanoTime() - t0) / 1e9)
    }

    override fun stop() = nativeStop(handle)

    override fun close() = nativeFree(handle)

    companion object {
        init {
            System.loadLibrary("phonelm_llama")
        }

        @JvmStatic private external fun nativeLoad(path: String, nCtx: Int, nThreads: Int): Long
        @JvmStatic private external fun nativeGenerate(handle: Long, prompt: String, maxNew: Int, listener: Engine.TokenListener): Int
        @JvmStatic private external fun nativeStop(handle: Long)
        @JvmStatic private external fun nativeFree(handle: Long)
    }
}
