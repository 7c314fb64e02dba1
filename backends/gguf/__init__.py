"""GGUF backend: PhoneLM for llama.cpp (see :mod:`.backend` for recipes, :mod:`.arch` for encodings).

Importable without gguf-py or llama-cpp-python; ``BACKEND.check()`` names the extra to install.
"""
from .backend import GGUFBackend

BACKEND = GGUFBackend()

__all__ = ["BACKEND", "GGUFBackend"]
