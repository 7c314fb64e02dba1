"""ExecuTorch backend: PhoneLM as a ``.pte`` for the XNNPACK CPU delegate (see :mod:`.backend`).

Importable without ExecuTorch installed; ``BACKEND.check()`` names the extra.
"""
from .backend import BACKEND, ExecuTorchBackend

__all__ = ["BACKEND", "ExecuTorchBackend"]
