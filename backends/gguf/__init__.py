"""GGUF backend: PhoneLM for llama.cpp (see :mod:`.backend`).

Importable without gguf-py or llama-cpp-python; ``BACKEND.check()`` names the extra to install.
"""
from .backend import BACKEND, GGUFBackend

__all__ = ["BACKEND", "GGUFBackend"]
