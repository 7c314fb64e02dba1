// JNI bridge for LlamaCppEngine: load a GGUF, tokenize, greedy-generate from a rendered ChatML
// prompt (optionally constrained by a GBNF grammar), stream pieces back to Java, stop on
// end-of-generation tokens (<|im_end|>, <|endoftext|>: the GGUF marks both as EOG).
// Uses llama.h's public API only. The same file is compiled by the NDK (CMakeLists.txt, llama.cpp
// at the pinned tag) and, on the project's CI, by the host's g++ against Debian's libllama-dev
// (tests/test_android_jni.py), where a JUnit test runs it from the Java core on the JVM.
#include <jni.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "llama.h"

namespace {

struct Session {
    llama_model * model = nullptr;
    llama_context * ctx = nullptr;
    const llama_vocab * vocab = nullptr;
    int n_ctx = 0;
    std::atomic<bool> stop{false};
};

void throw_java(JNIEnv * env, const char * cls, const std::string & message) {
    jclass c = env->FindClass(cls);
    if (c) env->ThrowNew(c, message.c_str());
}

void put_utf8(std::string & out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Java string -> standard UTF-8, from its UTF-16 code units. GetStringUTFChars would hand over
// *modified* UTF-8 (U+0000 as C0 80, a character outside the BMP as two 3-byte surrogates), which
// llama.cpp would tokenize as other bytes than the tokenizer the model was trained with.
std::string to_utf8(JNIEnv * env, jstring s) {
    const jsize n = env->GetStringLength(s);
    const jchar * u = env->GetStringChars(s, nullptr);
    std::string out;
    out.reserve(static_cast<size_t>(n));
    for (jsize i = 0; i < n; ++i) {
        uint32_t cp = u[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (u[i + 1] - 0xDC00);
            ++i;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;  // a lone surrogate has no UTF-8 form
        }
        put_utf8(out, cp);
    }
    env->ReleaseStringChars(s, u);
    return out;
}

// Length of the longest prefix of s that does not end inside a UTF-8 sequence: a character may be
// split across tokens, and only whole characters are handed to Java.
size_t complete_prefix(const std::string & s) {
    const size_t n = s.size();
    for (size_t back = 1; back <= 4 && back <= n; ++back) {
        const unsigned char c = static_cast<unsigned char>(s[n - back]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back for the lead byte
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? n - back : n;
    }
    return n;  // no lead byte among the last 4: invalid bytes, pass them on (they become U+FFFD)
}

// UTF-8 -> Java string through UTF-16 (NewStringUTF expects modified UTF-8: it garbles 4-byte
// sequences such as emoji); malformed bytes become U+FFFD.
jstring to_jstring(JNIEnv * env, const std::string & s) {
    std::vector<jchar> u;
    u.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        bool ok = len > 0 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) {
            const unsigned char d = static_cast<unsigned char>(s[i + k]);
            ok = (d & 0xC0) == 0x80;
            cp = (cp << 6) | (d & 0x3F);
        }
        const uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : len == 4 ? 0x10000 : 0;
        if (!ok || cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            u.push_back(0xFFFD);
            i += 1;
            continue;
        }
        if (cp >= 0x10000) {
            u.push_back(static_cast<jchar>(0xD800 + ((cp - 0x10000) >> 10)));
            u.push_back(static_cast<jchar>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
        } else {
            u.push_back(static_cast<jchar>(cp));
        }
        i += len;
    }
    return env->NewString(u.data(), static_cast<jsize>(u.size()));
}

// parse_special=true: <|im_start|> / <|im_end|> in the rendered ChatML become their ids;
// add_special=false: no BOS (PhoneLM adds none).
std::vector<llama_token> tokenize(const llama_vocab * vocab, const std::string & text) {
    int n = -llama_tokenize(vocab, text.c_str(), static_cast<int32_t>(text.size()), nullptr, 0, false, true);
    if (n <= 0) return {};
    std::vector<llama_token> tokens(static_cast<size_t>(n));
    n = llama_tokenize(vocab, text.c_str(), static_cast<int32_t>(text.size()), tokens.data(), n, false, true);
    tokens.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return tokens;
}

std::string piece_of(const llama_vocab * vocab, llama_token tok) {
    // special=false: a control token the model emits mid-reply contributes no text
    char buf[256];
    int len = llama_token_to_piece(vocab, tok, buf, sizeof(buf), 0, false);
    if (len >= 0) return std::string(buf, static_cast<size_t>(len));
    std::string big(static_cast<size_t>(-len), '\0');  // a piece longer than buf: -len is its size
    len = llama_token_to_piece(vocab, tok, &big[0], -len, 0, false);
    big.resize(len < 0 ? 0 : static_cast<size_t>(len));
    return big;
}

}  // namespace

extern "C" JNIEXPORT jlong JNICALL
Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_nativeLoad(JNIEnv * env, jclass, jstring path, jint n_ctx, jint n_threads) {
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(to_utf8(env, path).c_str(), mp);
    if (!model) return 0;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(n_ctx);
    cp.n_batch = static_cast<uint32_t>(n_ctx);  // a whole prompt is one llama_decode call
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
    s->n_ctx = static_cast<int>(llama_n_ctx(ctx));
    return reinterpret_cast<jlong>(s);
}

extern "C" JNIEXPORT jintArray JNICALL
Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_nativeTokenize(JNIEnv * env, jclass, jlong handle, jstring text) {
    auto * s = reinterpret_cast<Session *>(handle);
    std::vector<llama_token> tokens = tokenize(s->vocab, to_utf8(env, text));
    jintArray out = env->NewIntArray(static_cast<jsize>(tokens.size()));
    if (out && !tokens.empty()) env->SetIntArrayRegion(out, 0, static_cast<jsize>(tokens.size()), tokens.data());
    return out;
}

// grammar: GBNF text whose start rule is "root" (llama.cpp's grammar sampler masks every token
// the grammar cannot continue with, end-of-generation included until the grammar is complete),
// or null for unconstrained greedy decoding. Returns the number of tokens generated.
extern "C" JNIEXPORT jint JNICALL
Java_org_phonelm_demo_engine_llamacpp_LlamaCppEngine_nativeGenerate(JNIEnv * env, jclass, jlong handle, jstring jprompt,
                                                                    jint max_new, jstring jgrammar, jobject listener) {
    auto * s = reinterpret_cast<Session *>(handle);
    s->stop = false;
    std::vector<llama_token> tokens = tokenize(s->vocab, to_utf8(env, jprompt));
    if (tokens.empty()) {
        throw_java(env, "java/lang/IllegalArgumentException", "the prompt is empty");
        return 0;
    }
    if (static_cast<int>(tokens.size()) >= s->n_ctx) {
        throw_java(env, "java/lang/IllegalArgumentException",
                   "the prompt has " + std::to_string(tokens.size()) + " tokens; the context holds " + std::to_string(s->n_ctx));
        return 0;
    }
    jclass cls = env->GetObjectClass(listener);
    jmethodID on_piece = env->GetMethodID(cls, "onPiece", "(Ljava/lang/String;)V");
    if (!on_piece) return 0;  // NoSuchMethodError is pending

    llama_sampler * smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (jgrammar) {
        const std::string grammar = to_utf8(env, jgrammar);
        llama_sampler * g = llama_sampler_init_grammar(s->vocab, grammar.c_str(), "root");
        if (!g) {
            llama_sampler_free(smpl);
            throw_java(env, "java/lang/IllegalArgumentException", "llama.cpp could not parse the GBNF grammar (start rule: root)");
            return 0;
        }
        llama_sampler_chain_add(smpl, g);  // before greedy: greedy then picks the best allowed token
    }
    llama_sampler_chain_add(smpl, llama_sampler_init_greedy());  // PhoneLM-Call is decoded greedily, as mllm's demo does

    llama_memory_clear(llama_get_memory(s->ctx), true);  // each request renders the whole conversation
    llama_batch batch = llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size()));
    int n_past = static_cast<int>(tokens.size());
    int produced = 0;
    llama_token tok = 0;
    std::string pending;  // bytes of a UTF-8 character split across tokens
    bool failed = false;
    while (produced < max_new && !s->stop) {
        if (llama_decode(s->ctx, batch) != 0) {
            failed = true;
            break;
        }
        tok = llama_sampler_sample(smpl, s->ctx, -1);
        if (llama_vocab_is_eog(s->vocab, tok)) break;
        pending += piece_of(s->vocab, tok);
        produced++;
        const size_t cut = complete_prefix(pending);
        if (cut > 0) {
            jstring piece = to_jstring(env, pending.substr(0, cut));
            env->CallVoidMethod(listener, on_piece, piece);
            env->DeleteLocalRef(piece);
            pending.erase(0, cut);
            if (env->ExceptionCheck()) break;  // the listener threw: let it reach the caller
        }
        if (n_past >= s->n_ctx) break;  // the context is full: no room for the next token
        batch = llama_batch_get_one(&tok, 1);
        n_past++;
    }
    if (!pending.empty() && !env->ExceptionCheck()) {  // a reply cut inside a character: U+FFFD, as a decoder would
        jstring piece = to_jstring(env, pending);
        env->CallVoidMethod(listener, on_piece, piece);
        env->DeleteLocalRef(piece);
    }
    llama_sampler_free(smpl);
    if (failed && !env->ExceptionCheck()) throw_java(env, "java/lang/IllegalStateException", "llama_decode failed");
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
