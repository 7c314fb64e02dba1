package org.phonelm.demo.core;

import java.util.List;

/**
 * An engine that can decode under a GBNF grammar (start rule {@code root}): the llama.cpp engine,
 * through llama.cpp's grammar sampler. {@link CallFlow} hands it the request's {@link CallGrammar},
 * so the Call model can only write calls that parse and map. ExecuTorch's {@code LlmModule} and
 * MLC's {@code MLCEngine} expose no way to constrain arbitrary grammars, so their engines do not
 * implement this (the README says what each can and cannot do).
 */
public interface GrammarEngine extends Engine {
    /** Greedy chat completion constrained by {@code grammar} (GBNF; {@code null} = unconstrained). */
    Result generate(List<ChatMessage> messages, int maxNewTokens, TokenListener listener, String grammar) throws Exception;
}
