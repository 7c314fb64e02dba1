package org.phonelm.demo.core;

/** A bare {@code resultN} in a model output: the result of the call with id {@code n}. */
public final class ResultRef {
    public final int n;

    public ResultRef(int n) {
        this.n = n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResultRef && ((ResultRef) o).n == n;
    }

    @Override
    public int hashCode() {
        return n;
    }

    @Override
    public String toString() {
        return "result" + n;
    }
}
