"""phonelm-export: run PhoneLM (Llama with a gated-ReLU FFN) in llama.cpp, ExecuTorch and MLC.

Importing the package registers ``model_type="phonelm"`` with transformers, so PhoneLM
checkpoints load with ``AutoModelForCausalLM`` and no remote code.
"""
from .model import PhoneLMConfig, PhoneLMForCausalLM, register

__version__ = "0.1.0"

register()

__all__ = ["PhoneLMConfig", "PhoneLMForCausalLM", "register", "__version__"]
