"""Read and validate a PhoneLM checkpoint without trusting it.

A checkpoint is a Hugging Face directory (``config.json`` + ``model.safetensors`` or a
sharded ``model.safetensors.index.json``, tokenizer files beside them) or a single
``.safetensors`` file with a ``config.json`` in the same directory.

* Tensors are streamed with ``safetensors.safe_open``: nothing is materialised until a
  backend asks for one tensor, and dtypes (bf16/f16/f32) are kept until the backend decides.
* Every dimension is derived from tensor **shapes** and then checked against ``config.json``;
  a contradiction is refused (an early PhoneLM-0.5B-Instruct revision shipped the 1.5B config
  beside 0.5B weights).
* Non-finite weights are refused: a NaN or Inf in any tensor makes every backend produce
  garbage, and finding it after a 20-minute export helps nobody. The scan streams one tensor
  at a time.
* Pickled ``.bin`` checkpoints can execute code when unpickled; they are refused unless the
  caller opts in, and even then are read with ``torch.load(weights_only=True)``.
* Python files in the checkpoint (``modeling_phonelm.py`` ...) are never imported.
"""
from __future__ import annotations

import json
import stat
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import torch

from .errors import CheckpointError, first_line as _first_line
from .schemas import read_json, read_json_object, read_text, validate
from .schemas_checkpoint import HFConfig, SafetensorsMetadata, ShardIndex, TensorEntry, TokenizerFile

WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
PICKLE_FILES = ("pytorch_model.bin", "model.bin")
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
MODEL_TYPES = ("phonelm", "llama")  # a relu llama checkpoint is the same model
TIED_HEAD = "lm_head.weight"
EMBED = "model.embed_tokens.weight"


@dataclass(frozen=True)
class Dims:
    """PhoneLM hyper-parameters, every size checked against the tensors."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 2048
    bos_token_id: int = 1
    eos_token_id: int = 2

    @property
    def kv_dim(self) -> int:
        return self.num_key_value_heads * self.head_dim

    @property
    def q_dim(self) -> int:
        return self.num_attention_heads * self.head_dim

    def param_count(self) -> int:
        """Parameters with the tied embedding counted once."""
        H, I = self.hidden_size, self.intermediate_size
        per_layer = 2 * H + H * self.q_dim * 2 + H * self.kv_dim * 2 + 3 * H * I
        return self.vocab_size * H + self.num_hidden_layers * per_layer + H

    def to_dict(self) -> dict:
        return asdict(self)

    def shape_fields(self) -> dict:
        """The fields every model config (transformers, MLC, our writers) spells as we do."""
        return {f: getattr(self, f) for f in SHAPE_FIELDS}

    def to_hf_config(self, rope_mode: str = "float"):
        """The transformers config of the reference model with these dimensions."""
        from .model import PhoneLMConfig

        return PhoneLMConfig(
            **self.shape_fields(),
            rope_parameters={"rope_theta": self.rope_theta, "rope_type": "default"},
            max_position_embeddings=self.max_position_embeddings,
            bos_token_id=self.bos_token_id,
            eos_token_id=self.eos_token_id,
            tie_word_embeddings=True,
            rope_mode=rope_mode,
        )


#: the Dims fields named the same in every config dialect
SHAPE_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "rms_norm_eps")


def layer_tensor_shapes(d: Dims, i: int) -> dict[str, tuple[int, ...]]:
    p = f"model.layers.{i}."
    H, I = d.hidden_size, d.intermediate_size
    return {
        p + "input_layernorm.weight": (H,),
        p + "self_attn.q_proj.weight": (d.q_dim, H),
        p + "self_attn.k_proj.weight": (d.kv_dim, H),
        p + "self_attn.v_proj.weight": (d.kv_dim, H),
        p + "self_attn.o_proj.weight": (H, d.q_dim),
        p + "post_attention_layernorm.weight": (H,),
        p + "mlp.gate_proj.weight": (I, H),
        p + "mlp.up_proj.weight": (I, H),
        p + "mlp.down_proj.weight": (H, I),
    }


def expected_shapes(d: Dims) -> dict[str, tuple[int, ...]]:
    """Every tensor of a PhoneLM checkpoint (without the optional tied lm_head), in file order."""
    shapes: dict[str, tuple[int, ...]] = {EMBED: (d.vocab_size, d.hidden_size)}
    for i in range(d.num_hidden_layers):
        shapes.update(layer_tensor_shapes(d, i))
    shapes["model.norm.weight"] = (d.hidden_size,)
    return shapes


def _normalize_config(raw: dict) -> dict:
    """Accept both transformers 4.x (rope_theta, torch_dtype) and 5.x (rope_parameters, dtype)."""
    cfg = dict(raw)
    rp = cfg.get("rope_parameters") or {}  # both validated as objects or null (HFConfig)
    if "rope_theta" not in cfg and rp.get("rope_theta") is not None:
        cfg["rope_theta"] = rp["rope_theta"]
    scaling = cfg.get("rope_scaling")
    rope_type = (scaling or {}).get("rope_type") or (scaling or {}).get("type") or rp.get("rope_type", "default")
    cfg["_rope_type"] = rope_type
    if "dtype" not in cfg and "torch_dtype" in cfg:
        cfg["dtype"] = cfg["torch_dtype"]
    return cfg


class _SafetensorsSource:
    """Tensor names -> file, opened lazily with safe_open (memory-mapped, no copy until read)."""

    def __init__(self, files: list[Path], weight_map: dict[str, str] | None):
        from safetensors import safe_open

        self._handles = {}
        self.index: dict[str, Path] = {}
        for f in files:
            _check_safetensors_header(f)
            try:
                h = safe_open(str(f), framework="pt")
            except Exception as e:  # safetensors raises its own error type
                raise CheckpointError(f"{f}: not a readable safetensors file ({_first_line(e)})") from None
            self._handles[f] = h
            for name in h.keys():
                if name in self.index:
                    raise CheckpointError(f"tensor {name} appears in both {self.index[name].name} and {f.name}")
                self.index[name] = f
        if weight_map is not None:
            missing = sorted(set(weight_map) - set(self.index))
            if missing:
                raise CheckpointError(f"{INDEX_FILE} lists {missing[0]} but no shard holds it")

    def names(self) -> list[str]:
        return list(self.index)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._handles[self.index[name]].get_slice(name).get_shape())

    def dtype(self, name: str) -> str:
        return self._handles[self.index[name]].get_slice(name).get_dtype()

    def get(self, name: str) -> torch.Tensor:
        try:
            return self._handles[self.index[name]].get_tensor(name)
        except Exception as e:
            raise CheckpointError(f"{self.index[name].name}: cannot read tensor {name} ({_first_line(e)})") from None


def _pickle_reason(e: BaseException) -> str:
    """torch's weights_only refusal starts with several lines of advice; the reason (the global
    the pickle wanted to import, say) is further down."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    for ln in lines:
        if "WeightsUnpickler error:" in ln:
            return ln.split("WeightsUnpickler error:", 1)[1].strip().rstrip(".") or ln
    for ln in lines:
        if ln.lower().startswith(("unsupported", "trying to")):
            return ln
    return lines[0] if lines else type(e).__name__


class _PickleSource:
    """A ``.bin`` state dict read with ``torch.load(weights_only=True)``, memory-mapped."""

    def __init__(self, path: Path):
        try:
            self._sd = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except Exception as e:
            raise CheckpointError(f"{path}: cannot be loaded with weights_only=True ({_pickle_reason(e)})") from None
        if not isinstance(self._sd, dict) or not all(isinstance(v, torch.Tensor) for v in self._sd.values()):
            raise CheckpointError(f"{path}: not a state dict of tensors")
        self.index = {k: path for k in self._sd}

    def names(self) -> list[str]:
        return list(self._sd)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._sd[name].shape)

    def dtype(self, name: str) -> str:
        return {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}.get(self._sd[name].dtype, str(self._sd[name].dtype))

    def get(self, name: str) -> torch.Tensor:
        return self._sd[name]


# bytes per element of the dtypes a safetensors header may name (others are checked by safetensors itself)
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
             "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
MAX_HEADER_BYTES = 100_000_000  # the safetensors format's own limit


def read_safetensors_header(path: Path) -> dict[str, TensorEntry]:
    """The validated header of a safetensors file: tensor name -> entry.

    Catches truncation, a header that is not a JSON object of objects, and entries whose bytes
    do not fit the file or their shape, before safetensors memory-maps anything."""
    try:
        size = path.stat().st_size
        fh = open(path, "rb")
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror or _first_line(e)})") from None
    with fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: truncated safetensors file ({size} bytes)")
        (hlen,) = struct.unpack("<Q", head)
        if hlen > size - 8 or hlen > MAX_HEADER_BYTES:
            raise CheckpointError(f"{path}: corrupt safetensors header (claims {hlen} header bytes, file has {size})")
        raw = fh.read(hlen)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{path}: corrupt safetensors header (not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (expected a JSON object, got {type(header).__name__})")
    entries: dict[str, TensorEntry] = {}
    data_bytes = size - 8 - hlen
    for raw_name, value in header.items():
        name = _shown(raw_name)
        if raw_name == "__metadata__":
            if value is not None:
                validate(SafetensorsMetadata, value, f"{path}: __metadata__", CheckpointError)
            continue
        e = validate(TensorEntry, value, f"{path}: tensor {name}", CheckpointError)
        if e.data_offsets[1] > data_bytes:
            raise CheckpointError(
                f"{path}: truncated safetensors file (tensor {name} ends at byte {8 + hlen + e.data_offsets[1]}, file has {size})"
            )
        item = _ITEMSIZE.get(e.dtype)
        if item is not None and e.numel() * item != e.nbytes():
            raise CheckpointError(
                f"{path}: tensor {name}: shape {e.shape} of {e.dtype} needs {e.numel() * item} bytes, data_offsets give {e.nbytes()}"
            )
        entries[raw_name] = e
    return entries


def _shown(name: str) -> str:
    """A tensor name as it may appear in a one-line error (quoted when it holds odd characters)."""
    if name.isprintable() and len(name) <= 120:
        return name
    return json.dumps(name[:120])


def _check_safetensors_header(path: Path) -> None:
    read_safetensors_header(path)


DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


@dataclass
class Checkpoint:
    """A validated PhoneLM checkpoint. Open it with :func:`open_checkpoint`."""

    path: Path  # the directory holding config.json
    config: dict  # normalised config.json
    dims: Dims
    dtype: str  # float32 / float16 / bfloat16 (of the weight matrices)
    tensor_names: list[str]  # expected order, lm_head excluded
    lm_head: str  # "absent" | "tied-copy"
    source_files: list[Path]
    notes: list[str] = field(default_factory=list)
    _source: object = field(default=None, repr=False)

    # -- tensors ---------------------------------------------------------------------------
    def tensor(self, name: str) -> torch.Tensor:
        """One tensor, in its stored dtype."""
        return self._source.get(name)

    def tensors(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Every tensor (lm_head excluded: it is tied), one at a time."""
        for name in self.tensor_names:
            yield name, self._source.get(name)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._source.shape(name)

    def nbytes(self) -> int:
        return sum(f.stat().st_size for f in self.source_files)

    # -- companions ------------------------------------------------------------------------
    @property
    def tokenizer_file(self) -> Path | None:
        p = self.path / "tokenizer.json"
        return p if p.is_file() else None

    def tokenizer(self):
        from .tokenizer import PhoneLMTokenizer

        if self.tokenizer_file is None:
            raise CheckpointError(f"{self.path}: no tokenizer.json beside the weights")
        validate(TokenizerFile, read_json_object(self.tokenizer_file, CheckpointError), self.tokenizer_file, CheckpointError)
        return PhoneLMTokenizer.from_checkpoint(self)

    @property
    def chat_template(self) -> str | None:
        from .tokenizer import read_chat_template

        return read_chat_template(self.path)

    @property
    def name(self) -> str:
        return self.config.get("_name_or_path") or self.path.name

    def param_count(self) -> int:
        return self.dims.param_count()

    # -- reference -------------------------------------------------------------------------
    def hf_config(self, rope_mode: str = "float"):
        return self.dims.to_hf_config(rope_mode)

    def reference_model(self, dtype: torch.dtype = torch.float32, rope_mode: str = "float"):
        """The PyTorch reference with these weights, built without a second copy in memory."""
        from .model import PhoneLMForCausalLM

        config = self.hf_config(rope_mode)
        with torch.device("meta"):
            model = PhoneLMForCausalLM(config)
        model = model.to_empty(device="cpu").to(dtype)
        # non-persistent buffers (RoPE inverse frequencies) were lost on the meta device
        rotary_cls = type(model.model.rotary_emb)
        model.model.rotary_emb = rotary_cls(config=config)
        params = dict(model.named_parameters())
        for name, t in self.tensors():
            params[name].data.copy_(t.to(dtype))
            del t
        model.tie_weights()
        model.eval()
        return model


def _pickle_refusal(path: Path) -> CheckpointError:
    return CheckpointError(
        f"{path} is a pickle, which can run code when loaded; convert it to safetensors or pass --allow-pickle"
    )


def _regular_file(p: Path, what: str) -> bool:
    """True for a regular file; False when nothing is there; an error for a directory, a
    broken link or a symlink loop standing where a weights file belongs."""
    try:
        st = p.stat()
    except FileNotFoundError:
        if p.is_symlink():
            raise CheckpointError(f"{p}: a broken symbolic link where the {what} belongs") from None
        return False
    except OSError as e:
        raise CheckpointError(f"{p}: cannot be read ({e.strerror or _first_line(e)}; a symlink loop?)") from None
    if stat.S_ISDIR(st.st_mode):
        raise CheckpointError(f"{p}: is a directory, expected the {what} (a file)")
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{p}: not a regular file, expected the {what}")
    return True


def _find_weights(path: Path, allow_pickle: bool) -> tuple[Path, list[Path], dict | None, bool]:
    """-> (config dir, weight files, shard weight_map or None, is_pickle)."""
    if path.suffix in (".safetensors", ".bin") and not path.is_dir() and _regular_file(path, "weights file"):
        if path.suffix == ".bin" and not allow_pickle:
            raise _pickle_refusal(path)
        return path.parent, [path], None, path.suffix == ".bin"
    if path.is_file():
        raise CheckpointError(f"{path}: expected a checkpoint directory or a .safetensors file")
    if not path.is_dir():
        if path.is_symlink():
            raise CheckpointError(f"{path}: a broken symbolic link or a symlink loop")
        raise CheckpointError(f"{path}: no such checkpoint directory or file")
    if _regular_file(path / WEIGHTS_FILE, "weights file"):
        return path, [path / WEIGHTS_FILE], None, False
    if _regular_file(path / INDEX_FILE, "shard index"):
        index = validate(ShardIndex, read_json_object(path / INDEX_FILE, CheckpointError), path / INDEX_FILE, CheckpointError)
        weight_map = dict(index.weight_map)
        shards = sorted({path / s for s in weight_map.values()})
        for s in shards:
            if not _regular_file(s, f"shard listed in {INDEX_FILE}"):
                raise CheckpointError(f"{path}: shard {s.name} listed in {INDEX_FILE} is missing")
        return path, shards, weight_map, False
    singles = sorted(p for p in path.glob("*.safetensors") if _regular_file(p, "weights file"))
    if len(singles) == 1:
        return path, singles, None, False
    if len(singles) > 1:
        raise CheckpointError(
            f"{path}: {len(singles)} .safetensors files but no {INDEX_FILE} saying which tensor is where"
        )
    for name in PICKLE_FILES:
        if _regular_file(path / name, "weights file"):
            if not allow_pickle:
                raise _pickle_refusal(path / name)
            return path, [path / name], None, True
    raise CheckpointError(f"{path}: no weights found (expected {WEIGHTS_FILE})")


def _load_config(cfg_dir: Path) -> dict:
    cfg_path = cfg_dir / "config.json"
    if not _regular_file(cfg_path, "config.json"):
        raise CheckpointError(f"{cfg_dir}: no config.json beside the weights")
    raw = read_json_object(cfg_path, CheckpointError)
    validate(HFConfig, raw, cfg_path, CheckpointError)
    return _normalize_config(raw)


def _check_companions(cfg_dir: Path) -> None:
    """tokenizer_config.json and chat_template.jinja are read later (chat, verify, exports):
    their shape and the template's syntax are checked now, so a broken one is named early."""
    tcfg = cfg_dir / "tokenizer_config.json"
    template, where = None, None
    if _regular_file(tcfg, "tokenizer_config.json"):
        data = read_json_object(tcfg, CheckpointError)
        t = data.get("chat_template")
        if t is not None and not isinstance(t, (str, list)):
            raise CheckpointError(f"{tcfg}: chat_template: expected a string, got {type(t).__name__}")
        if isinstance(t, str):
            template, where = t, f"{tcfg}: chat_template"
    jinja = cfg_dir / "chat_template.jinja"
    if _regular_file(jinja, "chat template"):
        template, where = read_text(jinja, CheckpointError, "chat template"), str(jinja)
    if template is not None:
        from jinja2 import TemplateSyntaxError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        try:
            ImmutableSandboxedEnvironment().parse(template)
        except TemplateSyntaxError as e:
            raise CheckpointError(f"{where}: invalid template (line {e.lineno}: {_first_line(e)})") from None


def _derive_dims(cfg: dict, src, cfg_path: Path) -> Dims:
    names = set(src.names())
    if EMBED not in names:
        raise CheckpointError(f"missing tensor {EMBED}: not a PhoneLM/Llama checkpoint")
    emb = src.shape(EMBED)
    if len(emb) != 2:
        raise CheckpointError(f"{EMBED} has shape {list(emb)}, expected [vocab, hidden]")
    vocab, H = emb
    layers = 0
    while f"model.layers.{layers}.input_layernorm.weight" in names:
        layers += 1
    if layers == 0:
        raise CheckpointError("no decoder layers found (model.layers.0.input_layernorm.weight is missing)")
    gate = "model.layers.0.mlp.gate_proj.weight"
    if gate not in names:
        raise CheckpointError(f"missing tensor {gate}")
    I = src.shape(gate)[0]
    k = "model.layers.0.self_attn.k_proj.weight"
    q = "model.layers.0.self_attn.q_proj.weight"
    for n in (q, k):
        if n not in names:
            raise CheckpointError(f"missing tensor {n}")
    q_rows, kv_rows = src.shape(q)[0], src.shape(k)[0]

    heads = cfg["num_attention_heads"]  # a positive int (HFConfig)
    head_dim = cfg.get("head_dim") or q_rows // heads
    if head_dim <= 0:
        raise CheckpointError(f"{cfg_path}: {heads} heads do not fit q_proj's {q_rows} rows")
    if q_rows != heads * head_dim:
        raise CheckpointError(
            f"{cfg_path}: {heads} heads x head_dim {head_dim} != q_proj rows {q_rows}"
        )
    if kv_rows % head_dim:
        raise CheckpointError(f"k_proj has {kv_rows} rows, not a multiple of head_dim {head_dim}")
    kv_heads = kv_rows // head_dim

    derived = {
        "vocab_size": vocab,
        "hidden_size": H,
        "intermediate_size": I,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
    }
    clashes = [
        f"{key}={cfg[key]} but the tensors say {val}"
        for key, val in derived.items()
        if key in cfg and cfg[key] is not None and cfg[key] != val
    ]
    if clashes:
        hint = ""
        if "hidden_size" in " ".join(clashes):
            hint = " (a config.json from another PhoneLM size? the 0.5B model needs hidden_size 1024, the 1.5B 2560)"
        raise CheckpointError(f"{cfg_path} contradicts the weights: " + "; ".join(clashes) + hint)

    theta = cfg.get("rope_theta", 10000.0)
    eos = cfg.get("eos_token_id")  # an id, a list of ids or null (HFConfig)
    if isinstance(eos, list):
        eos = eos[0] if eos else None
    if eos is None:
        eos = 2
    return Dims(
        vocab_size=vocab,
        hidden_size=H,
        intermediate_size=I,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=head_dim,
        rms_norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),  # types and ranges: HFConfig
        rope_theta=float(theta),
        max_position_embeddings=int(cfg.get("max_position_embeddings", 2048)),
        bos_token_id=int(cfg.get("bos_token_id", 1) if cfg.get("bos_token_id") is not None else 1),
        eos_token_id=int(eos),
    )


def _check_semantics(cfg: dict, cfg_path: Path) -> None:
    mt = cfg.get("model_type")
    if mt not in MODEL_TYPES:
        raise CheckpointError(f"{cfg_path}: model_type {mt!r} is not a PhoneLM checkpoint (expected 'phonelm')")
    act = cfg.get("hidden_act", "relu" if mt == "phonelm" else "silu")
    if act != "relu":
        raise CheckpointError(
            f"{cfg_path}: hidden_act is {act!r}; PhoneLM's FFN is gated ReLU (hidden_act 'relu')"
        )
    if cfg.get("_rope_type", "default") not in ("default", None):
        raise CheckpointError(f"{cfg_path}: rope scaling {cfg['_rope_type']!r} is not supported (PhoneLM uses none)")
    for key in ("attention_bias", "mlp_bias"):
        if cfg.get(key):
            raise CheckpointError(f"{cfg_path}: {key}=true, but PhoneLM has no biases")
    if cfg.get("tie_word_embeddings") is False:
        raise CheckpointError(f"{cfg_path}: tie_word_embeddings is false, but PhoneLM ties its head to the embedding")


def _check_finite(names: list[str], src, files: list[Path], is_pickle: bool) -> None:
    """Refuse NaN/Inf weights. Safetensors are read with pread into a fresh buffer per tensor
    (phonelm_export.pread_tensors): reading through safe_open's memory map would keep the whole
    file mapped in the process's RSS for the rest of the export."""
    import numpy as np

    reader = None
    if not is_pickle:
        from .pread_tensors import SafetensorsReader

        reader = SafetensorsReader(files)
    try:
        for name in names:
            if reader is not None:
                try:
                    finite = np.isfinite(reader.read_f32(name))
                except OSError as e:
                    raise CheckpointError(f"tensor {name}: cannot be read ({e.strerror or _first_line(e)})") from None
                bad_n = int(finite.size - np.count_nonzero(finite))
            else:
                t = src.get(name)
                bad_n = int((~torch.isfinite(t)).sum().item())
            if bad_n:
                raise CheckpointError(f"tensor {name} has {bad_n} NaN/Inf values; refusing a checkpoint that cannot compute")
    finally:
        if reader is not None:
            reader.close()


def open_checkpoint(path: str | Path, *, allow_pickle: bool = False, check_finite: bool = True) -> Checkpoint:
    """Open and validate a PhoneLM checkpoint; raise :class:`CheckpointError` with one line on any problem."""
    path = Path(path).expanduser()
    cfg_dir, files, weight_map, is_pickle = _find_weights(path, allow_pickle)
    cfg_path = cfg_dir / "config.json"
    cfg = _load_config(cfg_dir)
    _check_semantics(cfg, cfg_path)
    _check_companions(cfg_dir)
    src = _PickleSource(files[0]) if is_pickle else _SafetensorsSource(files, weight_map)
    dims = _derive_dims(cfg, src, cfg_path)

    expected = expected_shapes(dims)
    names = set(src.names())
    missing = [n for n in expected if n not in names]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(f"missing tensor {missing[0]}{more}")
    extra = sorted(names - set(expected) - {TIED_HEAD})
    extra = [n for n in extra if not n.endswith("rotary_emb.inv_freq")]  # old HF exports saved this buffer
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise CheckpointError(f"unexpected tensor {extra[0]}{more}: not a PhoneLM layout (biases, qk-norm?)")
    for name, shape in expected.items():
        got = src.shape(name)
        if got != shape:
            raise CheckpointError(f"tensor {name} has shape {list(got)}, expected {list(shape)}")

    dtypes = {src.dtype(n) for n in expected}
    bad = dtypes - set(DTYPE_NAMES)
    if bad:
        raise CheckpointError(f"unsupported tensor dtype {sorted(bad)[0]} (PhoneLM weights are BF16, F16 or F32)")
    big = src.dtype(EMBED)
    notes: list[str] = []
    if len(dtypes) > 1:
        notes.append(f"mixed tensor dtypes {sorted(DTYPE_NAMES[d] for d in dtypes)}")

    lm_head = "absent"
    if TIED_HEAD in names:
        if src.shape(TIED_HEAD) != src.shape(EMBED):
            raise CheckpointError(f"{TIED_HEAD} has shape {list(src.shape(TIED_HEAD))}, expected {list(src.shape(EMBED))}")
        a, b = src.get(TIED_HEAD), src.get(EMBED)
        if not torch.equal(a.float(), b.float()):
            diff = (a.float() - b.float()).abs().max().item()
            raise CheckpointError(
                f"{TIED_HEAD} differs from {EMBED} (max |diff| {diff:.3g}); PhoneLM ties them, so this is not a PhoneLM checkpoint"
            )
        lm_head = "tied-copy"
        notes.append(f"{TIED_HEAD} is a copy of {EMBED}; it is dropped (tied)")

    if check_finite:
        _check_finite(list(expected), src, files, is_pickle)

    return Checkpoint(
        path=cfg_dir,
        config=cfg,
        dims=dims,
        dtype=DTYPE_NAMES[big],
        tensor_names=list(expected),
        lm_head=lm_head,
        source_files=files,
        notes=notes,
        _source=src,
    )
