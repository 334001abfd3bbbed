"""The bytes of an Arrow string column, without a Python object per value.

Writers that stream text DuckDB has already rendered (a Dataset-JSON row, a spreadsheet row,
a fixed-width XPT field) only need the column's UTF-8 data buffer: the values of a string
array lie back to back in it, so the concatenation of every value of a batch is one slice.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def _offsets_and_data(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(value offsets, data buffer as uint8) of a string / large string array (nulls = empty)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.large_string())
    if column.null_count:
        column = column.fill_null("")
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    offsets = np.frombuffer(column.buffers()[1], dtype=width)[column.offset: column.offset + len(column) + 1]
    buffer = column.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64, copy=False), data


def concatenated(column: pa.Array) -> memoryview:
    """Every value of ``column`` one after the other, as UTF-8 bytes (nulls add nothing)."""
    if len(column) == 0:
        return memoryview(b"")
    offsets, data = _offsets_and_data(column)
    return memoryview(data[offsets[0]: offsets[-1]])


def fixed_width(column: pa.Array, width: int) -> np.ndarray:
    """``column`` as an (n, width) uint8 matrix of its UTF-8 bytes, each value blank-padded.

    Values already ``width`` bytes long (padded by the query) are a reshape of the data buffer;
    others are placed byte by byte. A value longer than ``width`` raises ValueError.
    """
    n = len(column)
    if n == 0:
        return np.full((0, width), 32, dtype=np.uint8)
    offsets, data = _offsets_and_data(column)
    lengths = np.diff(offsets)
    if lengths.max(initial=0) > width:
        raise ValueError(f"a value is {int(lengths.max())} bytes, longer than the variable length {width}")
    if (lengths == width).all():
        return data[offsets[0]: offsets[-1]].reshape(n, width)
    out = np.full((n, width), 32, dtype=np.uint8)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(int(lengths.sum())) - np.repeat(offsets[:-1] - offsets[0], lengths)
    out[rows, cols] = data[offsets[0]: offsets[-1]]
    return out
