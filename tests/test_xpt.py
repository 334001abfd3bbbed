"""The streaming XPT v5 writer: IBM floats against known bytes, pyreadstat reads back what was
written (text, numbers, missing values, multi-byte text), and batches do not change the bytes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyreadstat
import pytest

from pipeline.sdtm_export import ExportContext, export_domains
from pipeline.xpt import ibm_float

CTX = ExportContext(studyid="NCT05204524", creation_datetime="2023-08-27T00:00:00")


def test_ibm_float_known_values():
    """IBM System/360 doubles (SAS TS-140): 1 = 41 10..., 0.5 = 40 80..., -118.625 = C2 76 A0...,
    100 = 42 64..., 0 = all zeros, missing = 2E 00..."""
    got = ibm_float(np.array([1.0, 0.5, -118.625, 100.0, 0.0, np.nan])).tobytes()
    want = bytes.fromhex("4110000000000000" "4080000000000000" "C276A00000000000" "4264000000000000"
                         "0000000000000000" "2E00000000000000")
    assert got == want


def test_round_trip_through_pyreadstat(tmp_path):
    frame = pl.DataFrame({
        "STUDYID": ["NCT05204524"] * 4,
        "AETERM": ["Nausea", None, "恶心", "Fatigue grade 2"],
        "AESEQ": [1, 2, None, 4],
        "AVAL": [0.1, -2.5e-3, 1234567.875, None],
        "EMPTY": pl.Series([None] * 4, dtype=pl.Utf8),
        "SRC_ROW": [1, 2, 3, 4],
    })
    export_domains({"ae": frame}, tmp_path / "x", CTX)
    data, meta = pyreadstat.read_xport(str(tmp_path / "x" / "ae.xpt"), encoding="utf-8")
    assert list(data.columns) == ["STUDYID", "AETERM", "AESEQ", "AVAL", "EMPTY"]
    assert meta.table_name == "AE"
    assert data["AETERM"].tolist() == ["Nausea", "", "恶心", "Fatigue grade 2"]
    assert meta.variable_storage_width["AETERM"] == len("Fatigue grade 2")
    assert data["AESEQ"].tolist()[:2] == [1.0, 2.0] and np.isnan(data["AESEQ"][2])
    assert data["AVAL"].tolist()[:3] == [0.1, -2.5e-3, 1234567.875] and np.isnan(data["AVAL"][3])
    assert data["EMPTY"].tolist() == [""] * 4


def test_batches_do_not_change_the_bytes(tmp_path, monkeypatch):
    import pipeline.sdtm_export as sdtm_export

    n = 2_500
    frame = pl.DataFrame({"STUDYID": ["S"] * n, "USUBJID": [f"S-{i:05d}" for i in range(n)],
                          "LBSTRESN": [i / 7 for i in range(n)]})
    export_domains({"lb": frame}, tmp_path / "one", CTX)
    monkeypatch.setattr(sdtm_export, "BATCH_ROWS", 333)
    monkeypatch.setattr(sdtm_export.write_domain, "__defaults__", (333,))
    export_domains({"lb": frame}, tmp_path / "many", CTX)
    for suffix in ("xpt", "json"):
        assert (tmp_path / "one" / f"lb.{suffix}").read_bytes() == (tmp_path / "many" / f"lb.{suffix}").read_bytes()
    data, _ = pyreadstat.read_xport(str(tmp_path / "many" / "lb.xpt"))
    assert data.shape == (n, 3) and data["LBSTRESN"].tolist() == frame["LBSTRESN"].to_list()


def test_every_batch_size_gives_the_same_files(tmp_path, monkeypatch):
    """Nulls, multi-byte text, an all-null column and an empty first value: the XPT and
    Dataset-JSON written one row per batch, in batches of 2 and of 3 equal one batch, and read
    back (pyreadstat, json) to the frame's values."""
    import json

    import pipeline.sdtm_export as sdtm_export

    frame = pl.DataFrame({
        "USUBJID": ["S-1", "S-2", None, "S-4", "S-5", "S-6", "S-7"],
        "AETERM": ["", "恶心", None, "Fatigue", "a & b", "呕吐 grade 3", None],
        "AESEQ": [1, 2, 3, None, 5, 6, 7],
        "EMPTY": pl.Series([None] * 7, dtype=pl.Utf8),
    })
    export_domains({"ae": frame}, tmp_path / "one", CTX)
    for size in (1, 2, 3):
        monkeypatch.setattr(sdtm_export.write_domain, "__defaults__", (size,))
        export_domains({"ae": frame}, tmp_path / f"b{size}", CTX)
        for suffix in ("xpt", "json"):
            assert (tmp_path / f"b{size}" / f"ae.{suffix}").read_bytes() == (tmp_path / "one" / f"ae.{suffix}").read_bytes()
    data, meta = pyreadstat.read_xport(str(tmp_path / "b1" / "ae.xpt"), encoding="utf-8")
    assert data["AETERM"].tolist() == ["", "恶心", "", "Fatigue", "a & b", "呕吐 grade 3", ""]
    assert data["USUBJID"].tolist() == ["S-1", "S-2", "", "S-4", "S-5", "S-6", "S-7"]
    assert meta.variable_storage_width["AETERM"] == len("呕吐 grade 3".encode())
    doc = json.loads((tmp_path / "b1" / "ae.json").read_text(encoding="utf-8"))
    assert doc["records"] == 7 and doc["rows"][0] == ["S-1", "", 1, None] and doc["rows"][2] == [None, None, 3, None]
    assert [r[1] for r in doc["rows"]] == frame["AETERM"].to_list()


def test_fixed_width_takes_padded_and_unpadded_text_alike():
    import pyarrow as pa

    from pipeline.arrow_bytes import concatenated, fixed_width

    raw = pa.array(["ab", None, "恶", ""])
    padded = pa.array(["ab  ", "    ", "恶 ", "    "])
    assert fixed_width(raw, 4).tobytes() == fixed_width(padded, 4).tobytes() == b"ab      " + "恶 ".encode() + b"    "
    assert bytes(concatenated(pa.array(["x", None, "yz"]).slice(1))) == b"yz"
    with pytest.raises(ValueError):
        fixed_width(pa.array(["toolong"]), 3)


def test_fixed_width_fills_the_columns_of_a_wider_row_matrix():
    """Written into a column slice of a row matrix (as the XPT writer does): a sliced array, nulls,
    multi-byte text and values of every length, blank-padded; the neighbouring columns untouched."""
    import pyarrow as pa

    from pipeline.arrow_bytes import fixed_width

    rows = np.full((4, 7), ord("#"), dtype=np.uint8)
    column = pa.array(["skip", "abcd", None, "恶", "a"]).slice(1)
    fixed_width(column, 4, out=rows[:, 2:6])
    assert [bytes(r) for r in rows] == [b"##abcd#", b"##    #", b"##" + "恶".encode() + b" #", b"##a   #"]
    all_null = fixed_width(pa.array([None, None], pa.string()), 3)
    assert all_null.tobytes() == b" " * 6
