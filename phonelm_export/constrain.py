"""Token-level grammar constraints for any runner's decode loop, by llguidance.

A :class:`GrammarConstraint` holds one request's grammar (GBNF text, e.g. from
:func:`phonelm_export.intents.grammar.call_grammar`) and the model's tokenizer. The decode loop
asks it for the tokens allowed next (:meth:`mask`, or :meth:`apply` to set the others' logits to
-inf) and tells it which token was chosen (:meth:`advance`). The stop tokens are allowed exactly
when the grammar is complete, so a constrained generation ends with a whole, valid output.

llguidance (Microsoft's Rust engine, the one llama.cpp can link as its grammar backend) does
the token-level work: it walks the tokenizer's byte trie against the grammar, so a span of the
request may end in the middle of a token and any tokenisation of a valid text is allowed. It
reads GBNF through its own converter to its Lark dialect; this module only adapts its API to
the runners' numpy logits rows.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from .errors import PhoneLMError


class ConstraintError(PhoneLMError):
    """The grammar is malformed, or a token outside the grammar was forced into it."""


def _llguidance():
    try:
        import llguidance
        import llguidance.numpy  # noqa: F401
    except ImportError:
        raise PhoneLMError("constrained decoding needs llguidance (pip install llguidance), "
                           "or decode without the grammar (--no-constrain)") from None
    return llguidance


@lru_cache(maxsize=8)
def _ll_tokenizer(tokenizer_json: str, stop_ids: tuple[int, ...]):
    # building the token trie takes ~0.1 s for the 49,152-token vocabulary: once per tokenizer
    return _llguidance().LLTokenizer(tokenizer_json, eos_token=list(stop_ids))


class _VocabTokenizer:
    """What llguidance's TokenizerWrapper reads: every token's bytes, the special ids and a tokenize function."""

    def __init__(self, tokenizer, stop_ids):
        self.tokens, self.special_token_ids = tokenizer.token_bytes()
        self.eos_token_id = int(stop_ids[0])
        self.bos_token_id = None
        self._encode = tokenizer.encode

    def __call__(self, text):
        return self._encode(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)


_BY_RUNTIME_VOCAB: dict[int, object] = {}


def ll_tokenizer(tokenizer, stop_ids: Sequence[int]):
    """llguidance's view of a runner's tokenizer: a :class:`~phonelm_export.tokenizer.PhoneLMTokenizer`
    (its tokenizer.json), or any tokenizer with ``token_bytes() -> (bytes per id, special ids)``
    and ``encode`` (a runtime's own vocabulary, e.g. the one inside a GGUF file)."""
    stop = tuple(int(i) for i in stop_ids)
    tok = getattr(tokenizer, "tok", tokenizer)
    if hasattr(tok, "to_str"):
        return _ll_tokenizer(tok.to_str(), stop)
    if hasattr(tokenizer, "token_bytes"):
        key = id(tokenizer)
        if key not in _BY_RUNTIME_VOCAB:
            wrapper = _llguidance().TokenizerWrapper(_VocabTokenizer(tokenizer, stop))
            _BY_RUNTIME_VOCAB[key] = (tokenizer, _llguidance().LLTokenizer(wrapper, eos_token=list(stop)))
        return _BY_RUNTIME_VOCAB[key][1]
    raise ConstraintError("constrained decoding needs the model's tokenizer (tokenizer.json or the runtime's vocabulary)")


@lru_cache(maxsize=32)
def _fresh_matcher(ll_tok, gbnf: str):
    """A matcher at the start of ``gbnf``, compiled once per text (GBNF -> Lark is pure Python, ~50 ms
    for a request's grammar) and deep-copied for every generation that uses it."""
    llg = _llguidance()
    try:
        lark = llg.grammar_from("gbnf", gbnf)
    except ValueError as e:
        raise ConstraintError(f"bad grammar: {e}") from None
    return llg.LLMatcher(ll_tok, lark, log_level=0)


class GrammarConstraint:
    """The allowed next tokens of one generation under a GBNF grammar."""

    def __init__(self, gbnf: str, tokenizer, stop_ids: Sequence[int] = (2, 0)):
        llg = _llguidance()
        self.gbnf = gbnf
        self.stop_ids = tuple(int(i) for i in stop_ids)
        self._tok = ll_tokenizer(tokenizer, self.stop_ids)
        self._matcher = _fresh_matcher(self._tok, gbnf).deep_copy()
        if self._matcher.is_error():
            raise ConstraintError(f"bad grammar: {self._matcher.get_error()}")
        self.vocab_size = self._tok.vocab_size
        self._bits = llg.numpy.allocate_token_bitmask(1, self.vocab_size)
        self._fill = llg.numpy.fill_next_token_bitmask
        self._shifts = np.arange(32, dtype=np.uint32)

    def mask(self, n: int | None = None) -> np.ndarray:
        """Boolean ``[n]`` (default: the tokenizer's vocabulary): True where the token may come next.
        Ids beyond the tokenizer (padded embedding rows) are never allowed."""
        self._fill(self._matcher, self._bits)
        if self._matcher.is_error():
            raise ConstraintError(f"constraint failed: {self._matcher.get_error()}")
        words = self._bits[0].view(np.uint32)
        allowed = ((words[:, None] >> self._shifts) & 1).astype(bool).reshape(-1)[: self.vocab_size]
        n = self.vocab_size if n is None else n
        if n <= self.vocab_size:
            return allowed[:n].copy()
        return np.concatenate([allowed, np.zeros(n - self.vocab_size, dtype=bool)])

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """A copy of one logits row with every disallowed token at -inf."""
        row = np.asarray(logits, dtype=np.float32)
        return np.where(self.mask(row.shape[-1]), row, np.float32(-np.inf)).astype(np.float32)

    def advance(self, token: int) -> None:
        """Accept the chosen token (ConstraintError if the grammar does not allow it)."""
        if int(token) in self.stop_ids:
            return
        if not self._matcher.consume_token(int(token)):
            raise ConstraintError(f"token {token} is not allowed here: {self._matcher.get_error()}")

    def accepts(self, ids: Sequence[int]) -> bool:
        """Whether ``ids`` (from the current state) are all allowed and end in a complete output;
        the state is left where it was."""
        n = self._matcher.try_consume_tokens([int(i) for i in ids])
        ok = n == len(ids) and self._matcher.is_accepting()
        self._matcher.rollback(n)
        return ok

    @property
    def complete(self) -> bool:
        """The text so far is a whole valid output (the stop tokens are allowed now)."""
        return self._matcher.is_accepting()

    def reset(self) -> None:
        self._matcher.reset()


def accepts_text(gbnf: str, tokenizer, text: str, stop_ids: Sequence[int] = (2, 0)) -> bool:
    """Whether the grammar accepts ``text`` as a whole output, tokenised the way the model would."""
    c = GrammarConstraint(gbnf, tokenizer, stop_ids)
    return c.accepts(tokenizer.encode(text))
