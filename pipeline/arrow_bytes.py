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


def fixed_width(column: pa.Array, width: int, out: np.ndarray | None = None) -> np.ndarray:
    """``column`` as an (n, width) uint8 matrix of its UTF-8 bytes, each value blank-padded
    (a null is all blanks); written into ``out`` (e.g. the columns of a wider row matrix) if given.

    Values all ``width`` bytes long are a reshape of the data buffer. Otherwise every row takes
    ``width`` bytes from where its value starts (a strided window over the buffer, one copy, no
    per-byte index arrays) and the bytes past its length are blanked. A value longer than
    ``width`` raises ValueError.
    """
    n = len(column)
    if out is None:
        out = np.empty((n, width), dtype=np.uint8)
    if n == 0:
        return out
    offsets, data = _offsets_and_data(column)
    lengths = np.diff(offsets)
    if lengths.max(initial=0) > width:
        raise ValueError(f"a value is {int(lengths.max())} bytes, longer than the variable length {width}")
    text = data[offsets[0]: offsets[-1]]
    if (lengths == width).all():
        out[...] = text.reshape(n, width)
        return out
    buffer = np.concatenate([text, np.full(width, 32, dtype=np.uint8)])
    out[...] = np.lib.stride_tricks.sliding_window_view(buffer, width)[offsets[:-1] - offsets[0]]
    np.copyto(out, np.uint8(32), where=np.arange(width) >= lengths[:, None])
    return out
