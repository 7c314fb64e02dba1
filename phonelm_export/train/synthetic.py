"""Moved to :mod:`phonelm_export.corpus` (data code, used beyond the trainer); this name stays
only until phonelm_export/verify.py and quant_recipes/gguf/measure.py import it from there."""
from ..corpus import *  # noqa: F401,F403
from ..corpus import _chat_data, _surrogate, _train_words  # noqa: F401
