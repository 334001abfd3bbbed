"""A streaming writer of SAS transport (XPT) version 5 files, vectorised with numpy.

Why our own writer: pyreadstat (used to read every file back in the tests) can only write a
whole pandas DataFrame, i.e. a Python object per text value of the table. At 100,000 subjects
LB alone has about ten million records; that copy is gigabytes. This writer takes Arrow record
batches one at a time (straight from DuckDB) and turns each into fixed-width byte rows with
numpy, so memory is one batch whatever the table size. Character values are blank-padded to
the variable length in numpy from the Arrow buffer (``pipeline.arrow_bytes``), not by the query:
padding in SQL built a new string per value and cost more than the scan.

The format (SAS technical note TS-140, "The record layout of a data set in SAS transport (XPORT)
format"): 80-byte header records; one 140-byte NAMESTR per variable; then the observations,
each the concatenation of its values (character: blank-padded to the variable length; numeric:
8-byte IBM System/360 hexadecimal floating point, missing = ``.`` followed by zeros), the last
record padded with blanks to 80 bytes.

Usage::

    with XptWriter(path, "LB", "Laboratory Test Results", variables) as xpt:
        for batch in reader:            # pyarrow.RecordBatch with the variables' columns
            xpt.write_batch(batch)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.arrow_bytes import fixed_width

RECORD = 80
NAMESTR_LEN = 140
#: timestamps inside the file are fixed (not the wall clock) so reruns give identical bytes
FIXED_STAMP = "01JAN70:00:00:00"
MISSING = np.uint64(0x2E << 56)


@dataclass(frozen=True)
class XptVariable:
    name: str  # <= 8 characters, upper-case ASCII (checked by the caller)
    label: str  # <= 40 characters
    numeric: bool
    length: int  # 8 for numeric; the longest value in bytes (>= 1) for character


def _pad(text: str, size: int) -> bytes:
    raw = text.encode("ascii", errors="replace") if text.isascii() else text.encode("latin-1", errors="replace")
    return raw[:size].ljust(size, b" ")


def _header(kind: str, tail: str = "0" * 30) -> bytes:
    return _pad(f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{tail}", RECORD)


def ibm_float(values: np.ndarray) -> np.ndarray:
    """IEEE 754 doubles -> big-endian IBM hexadecimal floats (as ``>u8``); NaN -> SAS missing.

    value = M x 2^(e-52) with M the 53-bit significand; IBM wants F x 16^(E-64) / 2^56 with a
    56-bit fraction F whose first hex digit is non-zero: F = M << (e mod 4), E = (e - e mod 4)/4
    + 65. Magnitudes outside IBM's range (~5e-79 .. 7e75) do not occur in clinical data and are
    clipped to zero / the largest exponent.
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits >> np.uint64(63)
    exp = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023
    mant = (bits & np.uint64((1 << 52) - 1)) | np.uint64(1 << 52)
    shift = np.mod(exp, 4)
    ibm_exp = np.clip((exp - shift) // 4 + 65, 0, 127).astype(np.uint64)
    frac = mant << shift.astype(np.uint64)
    out = (sign << np.uint64(63)) | (ibm_exp << np.uint64(56)) | frac
    out = np.where(x == 0, np.uint64(0), out)
    out = np.where(np.isnan(x), MISSING, out)
    return out.astype(">u8")


def _num_matrix(column: pa.Array) -> np.ndarray:
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)  # nulls -> NaN
    return ibm_float(values).view(np.uint8).reshape(-1, 8)


def _namestr(i: int, var: XptVariable, position: int) -> bytes:
    return struct.pack(
        ">hhhh8s40s8shhh2s8shhl52s",
        1 if var.numeric else 2, 0, var.length, i + 1,
        _pad(var.name, 8), _pad(var.label, 40), b" " * 8, 0, 0, 0, b"\0\0", b" " * 8, 0, 0, position, b"\0" * 52,
    )


class XptWriter:
    """One dataset per file (SDTM's convention), written batch by batch."""

    def __init__(self, path: str | Path, name: str, label: str, variables: list[XptVariable]):
        self.path, self.name, self.label, self.variables = Path(path), name, label, variables
        self.rows = 0
        self._fh = None
        self._tail = 0  # bytes written into the current 80-byte observation record

    def __enter__(self) -> "XptWriter":
        self._fh = open(self.path, "wb")
        self._fh.write(self._headers())
        return self

    def _headers(self) -> bytes:
        parts = [
            _header("LIBRARY"),
            _pad("SAS     SAS     SASLIB  9.4     X64_7PRO" + " " * 24 + FIXED_STAMP, RECORD),
            _pad(FIXED_STAMP, RECORD),
            _header("MEMBER", "000000000000000001600000000" + str(NAMESTR_LEN)),
            _header("DSCRPTR"),
            _pad(f"SAS     {self.name:<8}SASDATA 9.4     X64_7PRO" + " " * 24 + FIXED_STAMP, RECORD),
            _pad(FIXED_STAMP + " " * 16 + f"{self.label:<40}" + " " * 8, RECORD),
            _header("NAMESTR", f"000000{len(self.variables):04d}" + "0" * 20),
        ]
        names, position = b"", 0
        for i, var in enumerate(self.variables):
            names += _namestr(i, var, position)
            position += var.length
        names += b" " * (-len(names) % RECORD)
        return b"".join(parts) + names + _header("OBS")

    def write_batch(self, batch: pa.RecordBatch) -> None:
        """Append the rows of ``batch`` (its columns named like the variables; other columns are
        ignored). Each variable is written straight into its columns of one row matrix."""
        rows = np.empty((batch.num_rows, sum(v.length for v in self.variables)), np.uint8)
        position = 0
        for v in self.variables:
            block = rows[:, position: position + v.length]
            if v.numeric:
                block[...] = _num_matrix(batch.column(v.name))
            else:
                fixed_width(batch.column(v.name), v.length, out=block)
            position += v.length
        self._fh.write(rows)  # C-contiguous: written from its buffer, no bytes copy
        self._tail = (self._tail + rows.nbytes) % RECORD
        self.rows += batch.num_rows

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and self._tail:
                self._fh.write(b" " * (RECORD - self._tail))
        finally:
            self._fh.close()
