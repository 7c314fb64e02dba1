// JNI bridge for LlamaCppEngine: load a GGUF, greedy-generate from a rendered ChatML prompt,
// stream pieces back to Kotlin, stop on end-of-generation tokens (<|im_end|>, <|endoftext|>:
// the GGUF marks both as EOG). Uses llama.h's public API only.
#include <jni.h>
#include <atomic>
#include <string>
#include <vector>

#include "llama.h"

namespace {

struct Session {
    llama_model * model = nullptr;
    llama_context * ctx = nullptr;
    const llama_vocab * vocab = nullptr;
    std::atomic<bool> stop{false};
};

std::string to_utf8(JNIEnv * env, jstring s) {
    const char * c = env->GetStringUTFChars(s, nullptr);
    std::string out(c);
    env->ReleaseStringUTFChars(s, c);
    return out;
}

}  // namespace

extern "C" JNIEXPORT jlong JNICALL
Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_nativeLoad(JNIEnv * env, jclass, jstring path, jint n_ctx, jint n_threads) {
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(to_utf8(env, path).c_str(), mp);
    if (!model) return 0;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        llama_model_free(model);
        return 0;
    }
    auto * s = new Session();
    s->model = model;
    s->ctx = ctx;
    s->vocab = llama_model_get_vocab(model);
    return reinterpret_cast<jlong>(s);
}

extern "C" JNIEXPORT jint JNICALL
Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_nativeGenerate(JNIEnv * env, jclass, jlong handle, jstring jprompt,
                                                                    jint max_new, jobject listener) {
    auto * s = reinterpret_cast<Session *>(handle);
    s->stop = false;
    std::string prompt = to_utf8(env, jprompt);
    // parse_special=true: <|im_start|> / <|im_end|> in the rendered ChatML become their ids; no BOS (PhoneLM adds none)
    int n = -llama_tokenize(s->vocab, prompt.c_str(), (int) prompt.size(), nullptr, 0, false, true);
    std::vector<llama_token> tokens(n);
    llama_tokenize(s->vocab, prompt.c_str(), (int) prompt.size(), tokens.data(), n, false, true);

    llama_memory_clear(llama_get_memory(s->ctx), true);  // each request renders the whole conversation
    jclass cls = env->GetObjectClass(listener);
    jmethodID on_piece = env->GetMethodID(cls, "onPiece", "(Ljava/lang/String;)V");

    llama_sampler * smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(smpl, llama_sampler_init_greedy());  // PhoneLM-Call is decoded greedily, as mllm's demo does

    llama_batch batch = llama_batch_get_one(tokens.data(), (int) tokens.size());
    int produced = 0;
    llama_token tok;
    std::string pending;  // bytes of a UTF-8 character split across tokens
    while (produced < max_new && !s->stop) {
        if (llama_decode(s->ctx, batch) != 0) break;
        tok = llama_sampler_sample(smpl, s->ctx, -1);
        if (llama_vocab_is_eog(s->vocab, tok)) break;
        char buf[256];
        int len = llama_token_to_piece(s->vocab, tok, buf, sizeof(buf), 0, false);
        if (len > 0) pending.append(buf, len);
        // hand over only complete UTF-8 sequences (NewStringUTF needs valid modified UTF-8)
        size_t cut = pending.size();
        for (size_t k = pending.size(); k > 0 && k + 4 > pending.size(); --k) {
            unsigned char c = pending[k - 1];
            if ((c & 0xC0) == 0x80) continue;
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (pending.size() - (k - 1) < need) cut = k - 1;
            break;
        }
        if (cut > 0) {
            jstring piece = env->NewStringUTF(pending.substr(0, cut).c_str());
            env->CallVoidMethod(listener, on_piece, piece);
            env->DeleteLocalRef(piece);
            pending.erase(0, cut);
        }
        produced++;
        batch = llama_batch_get_one(&tok, 1);
    }
    llama_sampler_free(smpl);
    return produced;
}

extern "C" JNIEXPORT void JNICALL
Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_nativeStop(JNIEnv *, jclass, jlong handle) {
    reinterpret_cast<Session *>(handle)->stop = true;
}

extern "C" JNIEXPORT void JNICALL
Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_nativeFree(JNIEnv *, jclass, jlong handle) {
    auto * s = reinterpret_cast<Session *>(handle);
    llama_free(s->ctx);
    llama_model_free(s->model);
    delete s;
}
