"""MLC backend: PhoneLM as an MLC-LLM model on TVM's Relax (see :mod:`.backend`).

Importing it needs neither TVM nor mlc_llm, and registers nothing: ``BACKEND.register()``
adds ``phonelm`` to mlc_llm's model registry when mlc_llm is installed (:mod:`.register`).
"""
from .backend import BACKEND, MLCBackend

__all__ = ["BACKEND", "MLCBackend"]
