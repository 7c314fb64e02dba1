"""phonelm-export: run PhoneLM (Llama with a gated-ReLU FFN) in llama.cpp, ExecuTorch and MLC.

Importing the package registers ``model_type="phonelm"`` with transformers, so PhoneLM
checkpoints load with ``AutoModelForCausalLM`` and no remote code.

The registration waits for transformers itself: when transformers is already imported it
happens now, otherwise the moment transformers finishes importing. Importing torch and
transformers takes seconds, and most commands (``--help``, ``info`` of a GGUF, ``call``'s
parser...) need neither; the Auto classes behave the same either way.
"""
import importlib.abc as _abc
import importlib.util as _util
import logging as _logging
import sys as _sys

# transformers imports torchao when it is installed (the executorch extra); torchao then logs
# one warning per CUDA/other-Python kernel library it cannot load, and torch logs a pytree
# deprecation. None of it concerns CPU users; keep it off their terminal.
for _name in ("torchao", "torch.utils._pytree"):
    _logging.getLogger(_name).setLevel(_logging.ERROR)

__version__ = "0.1.0"

__all__ = ["PhoneLMConfig", "PhoneLMForCausalLM", "register", "__version__"]


def register() -> None:
    """Make ``model_type="phonelm"`` known to AutoConfig / AutoModelForCausalLM (idempotent)."""
    from .model import register as _register

    _register()


class _RegisterWhenTransformersLoads(_abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of ``transformers`` to register afterwards."""

    def find_spec(self, name, path=None, target=None):
        if name != "transformers":
            return None
        _sys.meta_path.remove(self)  # one shot; also keeps the lookup below from recursing
        spec = _util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            if "phonelm_export.model" not in _sys.modules:
                register()
            # else phonelm_export.model is being imported (it imports transformers first) and
            # registers on its last line


        spec.loader.exec_module = exec_module
        return spec


if "transformers" in _sys.modules:
    register()
elif not any(isinstance(f, _RegisterWhenTransformersLoads) for f in _sys.meta_path):
    _sys.meta_path.insert(0, _RegisterWhenTransformersLoads())


def __getattr__(name):
    if name in ("PhoneLMConfig", "PhoneLMForCausalLM"):
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'phonelm_export' has no attribute {name!r}")
