"""Checkpoint tensors read with ``pread`` into fresh buffers instead of through a memory map.

Why: ``safetensors.safe_open`` memory-maps the file, and every page read through the map stays
mapped — counted in the process's RSS — until the file is closed, which for an exporter is
the end of the run. A streaming exporter's peak then grows by the whole checkpoint (1 GB for
PhoneLM-0.5B in bf16, 3.2 GB for 1.5B) although it needs one tensor at a time. Read with
``pread``, the bytes pass through the page cache (the kernel's to keep or drop) and only the
tensor being converted is the process's own.

The values are those ``Checkpoint.tensor(name).to(torch.float32)`` gives: bf16 and f16 widen
to float32 exactly. Pickled checkpoints (``.bin``) have no reader (:func:`open_reader` is
None); callers fall back to ``Checkpoint.tensor``.
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


class SafetensorsReader:
    """Tensors of safetensors files, read with ``pread`` into fresh buffers (no memory map)."""

    def __init__(self, files):
        self._entries: dict[str, tuple[int, str, tuple[int, ...], int, int]] = {}
        self._fds: list[int] = []
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            self._fds.append(fd)
            (hlen,) = struct.unpack("<Q", os.pread(fd, 8, 0))
            header = json.loads(os.pread(fd, hlen, 8))
            for name, e in header.items():
                if name != "__metadata__" and e["dtype"] in _ST_DTYPES:
                    start, end = e["data_offsets"]
                    self._entries[name] = (fd, e["dtype"], tuple(e["shape"]), 8 + hlen + start, 8 + hlen + end)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entries[name][2]

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def __enter__(self) -> "SafetensorsReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read_f32(self, name: str) -> np.ndarray:
        """The whole tensor in its shape, as float32."""
        shape = self.shape(name)
        row = shape[-1] if shape else 1
        n = int(np.prod(shape)) if shape else 1
        return self.rows_f32(name, 0, n // row, row).reshape(shape)

    def rows_f32(self, name: str, start: int, stop: int, row_size: int) -> np.ndarray:
        """Rows ``start:stop`` of the tensor seen as ``[-1, row_size]``, widened to float32."""
        fd, dtype, _, begin, _ = self._entries[name]
        raw_t = _ST_DTYPES[dtype]
        item = np.dtype(raw_t).itemsize
        raw = np.empty((stop - start) * row_size, dtype=raw_t)
        view = memoryview(raw).cast("B")
        offset, done = begin + start * row_size * item, 0
        while done < len(view):
            n = os.preadv(fd, [view[done:]], offset + done)
            if n <= 0:
                raise OSError(f"short read of tensor {name}")
            done += n
        if dtype == "BF16":  # bf16 is the top half of a float32: widening is exact
            wide = raw.astype(np.uint32)
            del raw, view
            wide <<= 16
            return wide.view(np.float32).reshape(-1, row_size)
        return raw.astype(np.float32, copy=False).reshape(-1, row_size)


def open_reader(checkpoint) -> SafetensorsReader | None:
    """A reader over the checkpoint's safetensors files, or None for a pickled checkpoint."""
    files = list(checkpoint.source_files)
    if not files or not all(str(f).endswith(".safetensors") for f in files):
        return None
    return SafetensorsReader(files)
