package org.phonelm.demo.core;

/** One call cannot become an intent; {@code code} is stable (unknown_function, missing_argument, bad_type, ...). */
public final class MappingException extends Exception {
    private static final long serialVersionUID = 1L;

    public final String code;

    public MappingException(String code, String message) {
        super(message);
        this.code = code;
    }
}
