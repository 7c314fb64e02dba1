package org.phonelm.demo.engine.executorch

import org.json.JSONObject
import org.phonelm.demo.core.ChatMessage
import org.phonelm.demo.core.Engine
import org.phonelm.demo.core.Prompts
import org.pytorch.executorch.extension.llm.LlmCallback
import org.pytorch.executorch.extension.llm.LlmModule
import java.io.File

/**
 * ExecuTorch's LLM runner over the bundle's .pte + tokenizer.json (LlmModule, documented Android
 * API). The .pte carries get_max_seq_len / get_eos_ids, so the runner stops on <|im_end|> and
 * <|endoftext|>; the prompt is ChatML rendered by the shared core.
 * Not built on the project's CI (no Android SDK / Maven there).
 */
class ExecuTorchEngine(bundleDir: File, config: JSONObject) : Engine {
    private val module: LlmModule
    @Volatile private var stopped = false

    init {
        val model = File(bundleDir, config.getString("model"))
        val tokenizer = File(bundleDir, config.getString("tokenizer"))
        val temperature = config.optJSONObject("sampling")?.optDouble("temperature", 0.0) ?: 0.0
        module = LlmModule(model.path, tokenizer.path, temperature.toFloat())
        val status = module.load()
        check(status == 0) { "ExecuTorch could not load ${model.name} (status $status)" }
    }

    override fun name(): String = "executorch"

    override fun generate(messages: List<ChatMessage>, maxNewTokens: Int, listener: Engine.TokenListener?): Engine.Result {
        stopped = false
        val prompt = Prompts.renderChat(messages, true)
        val out = StringBuilder()
        var tokens = 0
        val t0 = System.nanoTime()
        module.resetContext()  // each request is a whole conversation rendered from scratch
        // seqLen bounds prompt + new tokens in LlmModule; echo=false: only the continuation comes back
        module.generate(prompt, prompt.length / 2 + maxNewTokens, object : LlmCallback {
            override fun onResult(result: String) {
                if (stopped) return
                tokens++
                out.append(result)
                listener?.onPiece(result)
            }

            override fun onStats(stats: String) {}
        }, false)
        val text = out.toString().removeSuffix("<|im_end|>").removeSuffix("<|endoftext|>")
        return Engine.Result(text, tokens, (System.nanoTime() - t0) / 1e9)
    }

    override fun stop() {
        stopped = true
        module.stop()
    }

    override fun close() {
        module.resetNative()
    }
}
