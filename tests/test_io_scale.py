"""Ingest at scale: the UTF-8 check of a delivered file runs in Arrow, block by block. Its verdict
must be Python's decoder's for any bytes, wherever the block edges cut a character."""

from __future__ import annotations

import random

import pytest

from pipeline.io import _text
from pipeline.io._text import detect_encoding

#: pieces the files are made of: ASCII, valid 2/3/4-byte characters, and invalid sequences
#: (lone continuation, cut lead bytes, overlong, surrogate, beyond U+10FFFF, bytes never in UTF-8)
VALID = [b"A,B\n", b"x", "µ".encode(), "恶心".encode(), "😀".encode(), "\ufeff".encode()]
INVALID = [b"\x80", b"\xc3", b"\xe6\x81", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xff", b"\xf8\x88\x80\x80\x80"]


def _python_says(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_arrow_check_agrees_with_python_on_any_bytes(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(_text, "_CHUNK", chunk)
    rng = random.Random(chunk)
    verdicts = set()
    for i in range(150):
        pieces = [rng.choice(VALID) for _ in range(rng.randint(0, 12))]
        if i % 2:
            pieces.insert(rng.randint(0, len(pieces)), rng.choice(INVALID))
        data = b"".join(pieces)
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(data)
        expected = _python_says(data)
        assert _text._is_utf8(path) == expected == _text._decodes(path, "utf-8"), data
        verdicts.add(expected)
    assert verdicts == {True, False}


def test_detected_encodings(tmp_path, monkeypatch):
    monkeypatch.setattr(_text, "_CHUNK", 4)
    cases = {"u.csv": "A,B\n1,恶心\n".encode(), "bom.csv": "\ufeffA,B\n1,µ\n".encode(),
             "gb.csv": "A,B\n1,恶心\n".encode("gb18030"), "cut.csv": b"A,B\n1,2\n" + "恶".encode()[:2]}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert detect_encoding(tmp_path / "u.csv") == "utf-8"
    assert detect_encoding(tmp_path / "bom.csv") == "utf-8-sig"
    assert detect_encoding(tmp_path / "gb.csv") == "gb18030"
    assert detect_encoding(tmp_path / "cut.csv") != "utf-8"
