"""Pick the function docs to show the Call model for a query (the app shows the top 3).

PhoneLM's app ranks docs by embedding similarity; the desktop and the phone here have no
embedding model, so both rank by Okapi BM25 over each function's name words, description,
argument names/descriptions and a short keyword list from ``functions.json``. The Kotlin core
implements the same tokenizer and scoring (golden vectors in ``tests/golden/intents``).
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

from .schema import FUNCTIONS

K1 = 1.2
B = 0.75
NAME_WEIGHT = 3
KEYWORD_WEIGHT = 2
STOPWORDS = frozenset(
    "a an the to of for and or in on at by with my me i you your is it this that be please can could "
    "would will do does what which from as are was up".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-case alphanumeric words (identifiers split at ``_``); stop words and numbers dropped, a plural ``s`` cut."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))
    out = []
    for w in words:
        if w in STOPWORDS or w.isdigit():
            continue  # numbers name times and amounts, not functions
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def index_text(name: str) -> str:
    f = FUNCTIONS[name]
    # the name and the keywords say what a function is for; argument text mostly says how
    parts = [f.name] * NAME_WEIGHT + [_keywords(name)] * KEYWORD_WEIGHT + [f.description]
    for a in f.args:
        parts += [a.name, a.description]
    return " ".join(parts)


@lru_cache(maxsize=None)
def _keywords(name: str) -> str:
    import json

    from .schema import data_text

    for f in json.loads(data_text("functions.json"))["functions"]:
        if f["name"] == name:
            return f.get("keywords", "")
    return ""


@lru_cache(maxsize=None)
def _index():
    docs = {n: tokenize(index_text(n)) for n in FUNCTIONS}
    df: dict[str, int] = {}
    for toks in docs.values():
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    n_docs = len(docs)
    avg = sum(len(t) for t in docs.values()) / n_docs
    idf = {t: math.log(1.0 + (n_docs - c + 0.5) / (c + 0.5)) for t, c in df.items()}
    return docs, idf, avg


def scores(query: str) -> dict[str, float]:
    """BM25 score of every function for ``query`` (query words counted once each)."""
    docs, idf, avg = _index()
    q = list(dict.fromkeys(tokenize(query)))
    out = {}
    for name, toks in docs.items():
        s = 0.0
        dl = len(toks)
        for t in q:
            tf = toks.count(t)
            if tf:
                s += idf[t] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avg))
        out[name] = s
    return out


# Functions whose target is usually a person named in the query ("call Anna", "email Bo"): the
# person's number/address comes from get_contact_info, a word the query never says. When one of
# them is selected and the query holds no literal number or email address, get_contact_info takes
# the last slot (measured on held-out synthetic queries, k=3: recall 82% -> see tests).
CONTACT_TARGETS = ("dial", "send_message", "send_email", "search_location", "ACTION_VIEW_CONTACT", "ACTION_EDIT_CONTACT")
_LITERAL = re.compile(r"[0-9]{3}|@")


def select_docs(query: str, k: int = 3) -> list[str]:
    """Names of the ``k`` best-matching functions, best first; ties keep the schema order."""
    sc = scores(query)
    names = list(FUNCTIONS)
    order = sorted(range(len(names)), key=lambda i: (-sc[names[i]], i))
    top = [names[i] for i in order[:k]]
    if (k >= 2 and "get_contact_info" not in top and any(t in CONTACT_TARGETS for t in top)
            and not _LITERAL.search(query)):
        top[-1] = "get_contact_info"
    return top
