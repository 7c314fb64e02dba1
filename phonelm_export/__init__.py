"""phonelm-export: run PhoneLM (Llama with a gated-ReLU FFN) in llama.cpp, ExecuTorch and MLC.

Importing the package registers ``model_type="phonelm"`` with transformers, so PhoneLM
checkpoints load with ``AutoModelForCausalLM`` and no remote code.
"""
import logging as _logging

# transformers imports torchao when it is installed (the executorch extra); torchao then logs
# one warning per CUDA/other-Python kernel library it cannot load, and torch logs a pytree
# deprecation. None of it concerns CPU users; keep it off their terminal.
for _name in ("torchao", "torch.utils._pytree"):
    _logging.getLogger(_name).setLevel(_logging.ERROR)

from .model import PhoneLMConfig, PhoneLMForCausalLM, register

__version__ = "0.1.0"

register()

__all__ = ["PhoneLMConfig", "PhoneLMForCausalLM", "register", "__version__"]
