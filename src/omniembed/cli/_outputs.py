"""Embedding writers for ``omniembed encode``: ``.npy``, ``.parquet`` and JSON lines, written chunk by chunk.

Every writer keeps one row per input, in input order. A failed input (``--on-error skip``) is a NaN row in
``.npy`` (zeros for integer precisions, as ``encode`` returns it) and a null ``embedding`` with an ``error``
in Parquet and JSONL.

Example:
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "out.npy")
    >>> writer = open_writer(path, total=3)
    >>> writer.write(["a", "b"], np.ones((2, 4), np.float32), {})
    >>> writer.write(["c"], np.zeros((1, 4), np.float32), {0: "broken"})
    >>> writer.close()
    >>> np.load(path).shape
    (3, 4)
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np

from omniembed.errors import ConfigError

__all__ = ["FORMATS", "format_for", "open_writer"]

FORMATS = ("npy", "parquet", "jsonl")


def format_for(path: str, explicit: str | None = None) -> str:
    """The output format: ``explicit``, else from the extension (``-`` is JSON lines on stdout)."""
    if explicit is not None:
        return explicit
    if path == "-":
        return "jsonl"
    ext = os.path.splitext(path.lower())[1].lstrip(".")
    if ext in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if ext in FORMATS:
        return ext
    raise ConfigError(f"Cannot tell the output format of {path!r}: use a .npy, .parquet or .jsonl name, or --format.")


def open_writer(path: str, *, total: int, fmt: str | None = None) -> Any:
    fmt = format_for(path, fmt)
    if fmt == "npy":
        if path == "-":
            raise ConfigError("A .npy file cannot be written to stdout; give a file name.")
        return _NpyWriter(path, total)
    if fmt == "parquet":
        if path == "-":
            raise ConfigError("Parquet cannot be written to stdout; give a file name.")
        return _ParquetWriter(path)
    return _JsonlWriter(path)


class _NpyWriter:
    """Fills a memory-mapped ``.npy`` of ``total`` rows; the shape is known after the first chunk."""

    def __init__(self, path: str, total: int) -> None:
        self.path, self.total, self.array, self.offset = path, total, None, 0

    def write(self, inputs: list[str], embeddings: np.ndarray, errors: dict[int, str]) -> None:
        if self.array is None:
            self.array = np.lib.format.open_memmap(self.path, mode="w+", dtype=embeddings.dtype,
                                                   shape=(self.total, *embeddings.shape[1:]))
        self.array[self.offset:self.offset + len(embeddings)] = embeddings
        self.offset += len(embeddings)

    def close(self) -> None:
        if self.array is None:  # no input at all: an empty array still tells the caller "nothing"
            np.save(self.path, np.zeros((0, 0), np.float32))
            return
        self.array.flush()
        del self.array


class _ParquetWriter:
    def __init__(self, path: str) -> None:
        from omniembed.optional import require

        self.pa = require("pyarrow", name="pyarrow", purpose="Parquet output", extra="index", spec="pyarrow")
        import pyarrow.parquet as pq

        self.pq, self.path, self.writer, self.index = pq, path, None, 0

    def write(self, inputs: list[str], embeddings: np.ndarray, errors: dict[int, str]) -> None:
        pa = self.pa
        flat = embeddings.reshape(len(embeddings), -1)
        values = pa.array(flat.ravel())
        vectors = pa.FixedSizeListArray.from_arrays(values, flat.shape[1])
        mask = pa.array([i in errors for i in range(len(inputs))])
        vectors = pa.FixedSizeListArray.from_arrays(values, flat.shape[1], mask=mask) if errors else vectors
        table = pa.table({
            "index": pa.array(range(self.index, self.index + len(inputs)), pa.int64()),
            "input": pa.array(inputs, pa.string()),
            "embedding": vectors,
            "error": pa.array([errors.get(i) for i in range(len(inputs))], pa.string()),
        })
        self.index += len(inputs)
        if self.writer is None:
            self.writer = self.pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is None:
            schema = self.pa.schema([("index", self.pa.int64()), ("input", self.pa.string()),
                                     ("embedding", self.pa.list_(self.pa.float32())), ("error", self.pa.string())])
            self.writer = self.pq.ParquetWriter(self.path, schema)
        self.writer.close()


class _JsonlWriter:
    def __init__(self, path: str) -> None:
        self.handle = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")  # noqa: SIM115
        self.index = 0

    def write(self, inputs: list[str], embeddings: np.ndarray, errors: dict[int, str]) -> None:
        for i, (item, vector) in enumerate(zip(inputs, embeddings)):
            row: dict[str, Any] = {"index": self.index, "input": item}
            if i in errors:
                row["embedding"], row["error"] = None, errors[i]
            else:
                row["embedding"] = vector.tolist()
            self.handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.index += 1

    def close(self) -> None:
        if self.handle is not sys.stdout:
            self.handle.close()
        else:
            self.handle.flush()
