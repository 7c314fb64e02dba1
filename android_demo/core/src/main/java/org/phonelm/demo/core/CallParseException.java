package org.phonelm.demo.core;

/** The model output is not a well-formed list of calls; the message is "line L, column C: what". */
public final class CallParseException extends Exception {
    private static final long serialVersionUID = 1L;

    public CallParseException(String message) {
        super(message);
    }
}
