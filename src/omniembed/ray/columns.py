"""Arrow columns ↔ the items ``encode`` / ``predict`` take, and results → nullable Arrow columns.

A Ray Data batch may arrive as a ``pyarrow.Table``, a dict of numpy arrays or a pandas DataFrame; it is turned
into an Arrow table once, and the input column into Python items: strings (text, paths, URLs), ``bytes`` (from
``read_binary_files``), numpy arrays (images from ``read_images``; audio waveforms, given a sampling rate),
dicts. Vectors go back as ``fixed_size_list<float32>[d]`` with a **null** where an item failed, so Parquet and
Lance store a real null (never a NaN vector a search could return), next to a string ``error`` column.

Example:
    >>> import numpy as np
    >>> from omniembed.ray.columns import vectors_column
    >>> vectors_column(np.array([[1, 2], [0, 0]], np.float32), failed=[1]).to_pylist()
    [[1.0, 2.0], None]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MISSING = "MissingInputError: the input is null"


def to_table(batch: Any) -> Any:
    """A Ray batch in any of its formats as a ``pyarrow.Table`` (tensor columns kept as Ray tensor columns)."""
    import pyarrow as pa

    if isinstance(batch, pa.Table):
        return batch
    from ray.data.block import BlockAccessor

    return BlockAccessor.batch_to_block(batch)


def column_values(table: Any, name: str) -> list[Any]:
    """One column as Python values: str, bytes, numpy arrays (Ray tensor columns), dicts; None for nulls."""
    if name not in table.column_names:
        raise KeyError(f"column {name!r} not in this dataset; its columns are {table.column_names}")
    column = table.column(name)
    if _is_tensor(column.type):
        from ray.data.block import BlockAccessor

        arrays = BlockAccessor.for_block(table.select([name])).to_batch_format("numpy")[name]
        return list(arrays)
    return column.to_pylist()


def _is_tensor(arrow_type: Any) -> bool:
    import pyarrow as pa

    return isinstance(arrow_type, pa.ExtensionType) and "tensor" in type(arrow_type).__name__.lower()


def as_item(value: Any, sampling_rate: int | None) -> Any:
    """A column value as an omniembed input: list-of-floats / 1-D arrays become audio when a rate is known."""
    if isinstance(value, list) and value and isinstance(value[0], (int, float)):
        value = np.asarray(value, dtype=np.float32)
    if sampling_rate is not None and isinstance(value, np.ndarray) and value.ndim in (1, 2) \
            and value.dtype.kind == "f":
        return {"array": value, "sampling_rate": int(sampling_rate)}
    return value


def vectors_column(values: np.ndarray, failed: Sequence[int]) -> Any:
    """``(n, d)`` rows → ``fixed_size_list<dtype>[d]``, null at the ``failed`` positions."""
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    n, width = values.shape[0], (values.shape[1] if values.ndim == 2 else 1)
    flat = pa.array(values.reshape(-1) if n else np.zeros(0, values.dtype))
    mask = np.zeros(n, dtype=bool)
    mask[list(failed)] = True
    return pa.FixedSizeListArray.from_arrays(flat, width, mask=pa.array(mask) if mask.any() else None)


def scores_column(values: np.ndarray, failed: Sequence[int]) -> Any:
    """Scores ``(n,)`` → float32 with nulls, or ``(n, L)`` → ``fixed_size_list<float32>[L]``."""
    import pyarrow as pa

    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 2:
        return vectors_column(values, failed)
    mask = np.zeros(len(values), dtype=bool)
    mask[list(failed)] = True
    return pa.array(values, type=pa.float32(), mask=mask)


def errors_column(n: int, errors: dict[int, str]) -> Any:
    import pyarrow as pa

    return pa.array([errors.get(i) for i in range(n)], type=pa.string())


def with_columns(table: Any, columns: dict[str, Any]) -> Any:
    """Add (or replace) columns, keeping the others and their order."""
    for name, values in columns.items():
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, values)
        else:
            table = table.append_column(name, values)
    return table


def describe_failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {getattr(error, 'reason', None) or error}"
