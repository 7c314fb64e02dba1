"""Schemas of a Hugging Face checkpoint's files: config.json (transformers 4.x and 5.x
dialects), the safetensors header, model.safetensors.index.json and tokenizer.json.

Only the shape is declared here; what the values must mean for PhoneLM (relu, tied head, dims
matching the tensors) is checked by :mod:`phonelm_export.checkpoint`, which reads these.
"""
from __future__ import annotations

import math
from typing import Annotated, Optional, Union

from pydantic import Field, field_validator, model_validator

from .schemas import SchemaModel

MAX_CONTEXT = 1 << 24  # 16 M positions: far beyond any PhoneLM; a bound so a typo is not a huge allocation
MAX_DIM = 1 << 24

PositiveInt = Annotated[int, Field(ge=1, le=MAX_DIM)]
TokenId = Annotated[int, Field(ge=0, le=MAX_DIM)]


def _number(description: str, **bounds):
    return Field(description=description, allow_inf_nan=False, **bounds)


class RopeParameters(SchemaModel):
    """transformers 5.x: ``rope_parameters = {"rope_theta": ..., "rope_type": "default"}``."""

    rope_theta: Optional[float] = _number("a positive number", gt=0, default=None)
    rope_type: Optional[str] = Field(None, description="a string such as \"default\"")


class HFConfig(SchemaModel):
    """config.json of a PhoneLM / Llama checkpoint. Sizes may be null or absent: the tensor
    shapes decide them (a value that is present must agree; checkpoint.py checks)."""

    model_type: Optional[str] = Field(None, description="a string (\"phonelm\")")
    architectures: Optional[list[str]] = Field(None, description="a list of strings")
    name_or_path: Optional[str] = Field(None, alias="_name_or_path", description="a string")
    vocab_size: Optional[PositiveInt] = Field(None, description="a positive integer or null")
    hidden_size: Optional[PositiveInt] = Field(None, description="a positive integer or null")
    intermediate_size: Optional[PositiveInt] = Field(None, description="a positive integer or null")
    num_hidden_layers: Optional[PositiveInt] = Field(None, description="a positive integer or null")
    num_key_value_heads: Optional[PositiveInt] = Field(None, description="a positive integer or null")
    num_attention_heads: PositiveInt = Field(description="a positive integer (the number of attention heads)")
    head_dim: Optional[PositiveInt] = Field(None, description="a positive integer or null")
    max_position_embeddings: Annotated[int, Field(ge=1, le=MAX_CONTEXT)] = Field(
        2048, description=f"a positive integer (the context length, at most {MAX_CONTEXT})")
    rms_norm_eps: float = _number("a number between 0 and 1", gt=0, lt=1, default=1e-6)
    rope_theta: float = _number("a positive number", gt=0, default=10000.0)
    rope_scaling: Optional[dict] = Field(None, description="an object or null")
    rope_parameters: Optional[RopeParameters] = Field(None, description="an object or null")
    hidden_act: Optional[str] = Field(None, description="a string (\"relu\")")
    bos_token_id: Optional[TokenId] = Field(None, description="a token id (an integer >= 0) or null")
    eos_token_id: Union[TokenId, list[TokenId], None] = Field(
        None, description="a token id, a list of token ids, or null")
    pad_token_id: Union[TokenId, list[TokenId], None] = Field(None, description="a token id or null")
    torch_dtype: Optional[str] = Field(None, description="a dtype name such as \"bfloat16\"")
    dtype: Optional[str] = Field(None, description="a dtype name such as \"bfloat16\"")
    attention_bias: Optional[bool] = Field(None, description="true or false")
    mlp_bias: Optional[bool] = Field(None, description="true or false")
    tie_word_embeddings: Optional[bool] = Field(None, description="true or false")


class TensorEntry(SchemaModel):
    """One tensor in a safetensors header."""

    dtype: str = Field(description="a dtype name such as \"BF16\"")
    shape: list[Annotated[int, Field(ge=0, le=1 << 40)]] = Field(description="a list of non-negative integers")
    data_offsets: list[Annotated[int, Field(ge=0, le=1 << 50)]] = Field(
        min_length=2, max_length=2, description="[begin, end] byte offsets (two non-negative integers)")

    @field_validator("data_offsets")
    @classmethod
    def _ordered(cls, v: list[int]):
        if v[0] > v[1]:
            raise ValueError("[begin, end] with begin <= end")
        return v

    def nbytes(self) -> int:
        return self.data_offsets[1] - self.data_offsets[0]

    def numel(self) -> int:
        return math.prod(self.shape)


class SafetensorsMetadata(SchemaModel):
    """``__metadata__``: string keys to string values (the safetensors format says so)."""

    model_config = SchemaModel.model_config | {"extra": "allow"}

    @model_validator(mode="before")
    @classmethod
    def _strings(cls, data):
        if isinstance(data, dict):
            for k, v in data.items():
                if not isinstance(v, str):
                    raise ValueError(f"string values (key {k!r} holds {type(v).__name__})")
        return data


def _plain_file_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise ValueError("a file name in the checkpoint directory (no path separators)")
    return name


class ShardIndex(SchemaModel):
    """model.safetensors.index.json: which shard file holds each tensor."""

    metadata: Optional[dict] = Field(None, description="an object or null")
    weight_map: dict[str, str] = Field(description="an object mapping tensor names to shard file names")

    @field_validator("weight_map")
    @classmethod
    def _shards_are_plain_names(cls, v: dict[str, str]):
        for name, shard in v.items():
            try:
                _plain_file_name(shard)
            except ValueError:
                raise ValueError(f"shard file names without path separators (tensor {name!r} is in {shard!r})") from None
        if not v:
            raise ValueError("at least one tensor")
        return v


class TokenizerModel(SchemaModel):
    type: Optional[str] = Field(None, description="a string such as \"BPE\"")


class TokenizerFile(SchemaModel):
    """tokenizer.json (the ``tokenizers`` library's format): only its outline is checked here,
    the library parses the rest."""

    model: TokenizerModel = Field(description="an object (the tokenizer model)")
    added_tokens: Optional[list[dict]] = Field(None, description="a list of objects")
