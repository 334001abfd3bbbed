"""Delimited-text plumbing shared by the per-form CSV and the REDCap readers.

Polars reads UTF-8 only, so everything else (GB18030 from Chinese EDCs, UTF-16 with a BOM) is
transcoded chunk by chunk into a temporary UTF-8 file first; memory stays bounded whatever the
file size. The header is parsed here with the stdlib ``csv`` module (it is one record) so the
delimiter can be sniffed and the column names cleaned before Polars scans the body as text.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

_CHUNK = 1 << 20
#: candidate delimiters, in order of preference on ties (crf.md §1.1)
DELIMITERS = (",", ";", "\t")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class UndecodableError(ValueError):
    """The bytes are neither UTF-8 nor GB18030 (nor BOM-marked UTF-16)."""


@dataclass
class TextFile:
    """A delimited file ready for Polars: ``path`` is UTF-8 (the original or a transcoded copy)."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]  # column names as written (BOM removed, otherwise verbatim)
    transcoded: bool


def _decodes(path: Path, encoding: str) -> bool:
    """Stream the whole file through an incremental decoder: a bad byte at row 10 million counts too."""
    dec = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(_CHUNK):
                dec.decode(block)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _complete_prefix(data) -> int:
    """Length of ``data`` without a UTF-8 sequence cut off at its end (carried to the next block)."""
    n = len(data)
    for back in range(1, min(4, n) + 1):
        byte = data[n - back]
        if byte < 0x80:
            return n
        if byte >= 0xC0:  # a lead byte: 2, 3 or 4 bytes long
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return n if back >= need else n - back
    return n  # only continuation bytes: invalid however it goes on, the validator says so


def _utf8_block_valid(view: memoryview) -> bool:
    offsets = pa.py_buffer(np.array([0, len(view)], dtype=np.int64))
    array = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(view)])
    try:
        array.cast(pa.large_string())  # Arrow validates UTF-8 in C++, no str is built
    except pa.ArrowInvalid:
        return False
    return True


def _is_utf8(path: Path) -> bool:
    """The whole file is UTF-8 (a BOM is valid UTF-8 too): :func:`_decodes` for UTF-8, several
    times faster, because Arrow checks the bytes where Python would build a str of every block.
    A character cut by a block edge is carried to the next block."""
    carry = b""
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            data = carry + block if carry else block
            cut = _complete_prefix(data)
            if not _utf8_block_valid(memoryview(data)[:cut]):
                return False
            carry = data[cut:]
    return not carry


def _transcode(path: Path, encoding: str, target: Path) -> None:
    dec = codecs.getincrementaldecoder(encoding)()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "rb") as src, open(target, "wb") as dst:
        while block := src.read(_CHUNK):
            dst.write(dec.decode(block).encode("utf-8"))
        dst.write(dec.decode(b"", final=True).encode("utf-8"))


def detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8', 'utf-16' (BOM only) or 'gb18030'; raises :class:`UndecodableError`."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    for bom, enc in _BOMS:
        if head.startswith(bom):
            if _is_utf8(path) if enc == "utf-8-sig" else _decodes(path, enc):
                return enc
            raise UndecodableError(f"starts with a {enc} byte-order mark but is not valid {enc}")
    for enc in ("utf-8", "gb18030"):
        if _is_utf8(path) if enc == "utf-8" else _decodes(path, enc):
            return enc
    raise UndecodableError("is neither UTF-8 nor GB18030")


def sniff_delimiter(line: str) -> str:
    """The candidate delimiter occurring most often outside quotes in the header line."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first on ties -> ','
    return best if counts[best] else ","


def read_header(path: Path, encoding: str = "utf-8") -> tuple[str, list[str]]:
    """(delimiter, header fields) of a delimited file; the header may be quoted and span lines."""
    with open(path, encoding=encoding, newline="", errors="replace") as fh:
        first_line = fh.readline()
        fh.seek(0)
        delimiter = sniff_delimiter(first_line)
        header = next(csv.reader(fh, delimiter=delimiter), [])
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return delimiter, header


def peek_header(path: Path, limit: int = 1 << 16) -> list[str]:
    """Header fields from the first bytes only, for format detection (never reads the whole file)."""
    with open(path, "rb") as fh:
        raw = fh.read(limit)
    enc = next((e for bom, e in _BOMS if raw.startswith(bom)), None)
    if enc is None:
        try:
            raw.decode("utf-8")
            enc = "utf-8"
        except UnicodeDecodeError as exc:  # a cut multi-byte char at the limit is still UTF-8
            enc = "utf-8" if exc.start > len(raw) - 4 else "gb18030"
    text = raw.decode(enc, errors="replace").lstrip("\ufeff")
    line = text.splitlines()[0] if text else ""
    return next(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(line)), [])


def open_text(path: Path, tmp_dir: Path) -> TextFile:
    """Decide encoding and delimiter; transcode to UTF-8 under ``tmp_dir`` when needed."""
    encoding = detect_encoding(path)
    target, transcoded = path, False
    if encoding not in ("utf-8", "utf-8-sig"):
        target = tmp_dir / f"{path.name}.{encoding}.utf8"
        _transcode(path, encoding, target)
        transcoded = True
    delimiter, header = read_header(target)
    return TextFile(target, encoding, delimiter, header, transcoded)


def scan_text(tf: TextFile, names: list[str]) -> pl.LazyFrame:
    """Lazy all-text scan; ``names`` replace the header (cleaned, unique) and ``SRC_ROW`` is the
    1-based record number (records, not lines: a quoted field may hold newlines)."""
    return pl.scan_csv(
        tf.path,
        has_header=True,
        separator=tf.delimiter,
        quote_char='"',
        infer_schema=False,
        new_columns=names,
        encoding="utf8",
        raise_if_empty=False,
        truncate_ragged_lines=False,
    ).with_row_index("SRC_ROW", offset=1)
