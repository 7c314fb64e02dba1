package org.phonelm.demo.engine.mlc

import ai.mlc.mlcllm.MLCEngine
import ai.mlc.mlcllm.OpenAIProtocol
import kotlinx.coroutines.runBlocking
import org.json.JSONObject
import org.phonelm.demo.core.ChatMessage
import org.phonelm.demo.core.Engine
import java.io.File

/**
 * MLC-LLM's MLCEngine (mlc4j) over the bundle's model directory (weights + mlc-chat-config.json
 * with PhoneLM's conversation template) and the PhoneLM model library linked into the app by
 * `mlc_llm package`. Messages go to MLC's OpenAI-style chat completion, which applies the template.
 * Not built on the project's CI (needs the NDK and an mlc4j build).
 */
class MlcEngine(bundleDir: File, config: JSONObject) : Engine {
    private val engine = MLCEngine()
    @Volatile private var stopped = false

    init {
        val modelDir = File(bundleDir, config.getString("model_dir"))
        require(File(modelDir, "mlc-chat-config.json").isFile) { "no mlc-chat-config.json in $modelDir" }
        // the system-library name the exporter compiled the model library under (phonelm-app.json)
        val lib = config.getString("model_lib")
        engine.reload(modelDir.path, lib)
    }

    override fun name(): String = "mlc"

    override fun generate(messages: List<ChatMessage>, maxNewTokens: Int, listener: Engine.TokenListener?): Engine.Result = runBlocking {
        stopped = false
        val t0 = System.nanoTime()
        val request = messages.map {
            OpenAIProtocol.ChatCompletionMessage(role = OpenAIProtocol.ChatCompletionRole.valueOf(it.role), content = it.content)
        }
        val out = StringBuilder()
        var tokens = 0
        val channel = engine.chat.completions.create(messages = request, max_tokens = maxNewTokens, temperature = 0f,
            stream_options = OpenAIProtocol.StreamOptions(include_usage = true))
        for (response in channel) {
            if (stopped) break
            for (choice in response.choices) {
                val piece = choice.delta.content?.asText() ?: continue
                out.append(piece)
                listener?.onPiece(piece)
            }
            response.usage?.let { tokens = it.completion_tokens }
        }
        Engine.Result(out.toString(), tokens, (System.nanoTime() - t0) / 1e9)
    }

    override fun stop() {
        stopped = true
    }

    override fun close() {
        engine.unload()
    }
}
