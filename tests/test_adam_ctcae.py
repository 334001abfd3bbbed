"""CTCAE v5.0 lab grading: every worked example of adam.md §3."""

import polars as pl
import pytest

from pipeline.adam.ctcae import grade_high, grade_low


def _low(paramcd, values, anrlo):
    df = pl.DataFrame({"PARAMCD": paramcd, "AVAL": values, "ANRLO": anrlo}, strict=False)
    return df.select(grade_low("PARAMCD", "AVAL", "ANRLO")).to_series().to_list()


def _high(paramcd, values, anrhi, base, bnrind):
    n = len(values)
    df = pl.DataFrame(
        {"PARAMCD": [paramcd] * n, "AVAL": values, "ANRHI": [anrhi] * n, "BASE": [base] * n, "BNRIND": [bnrind] * n},
        schema={"PARAMCD": pl.Utf8, "AVAL": pl.Float64, "ANRHI": pl.Float64, "BASE": pl.Float64, "BNRIND": pl.Utf8},
    )
    return df.select(grade_high("PARAMCD", "AVAL", "ANRHI", "BASE", "BNRIND")).to_series().to_list()


@pytest.mark.parametrize(
    "paramcd,anrlo,cases",
    [
        ("NEUT", 1.8, {2.5: "0", 1.6: "1", 1.2: "2", 1.0: "2", 0.9: "3", 0.4: "4"}),
        ("PLT", 125.0, {130.0: "0", 75.0: "1", 60.0: "2", 40.0: "3", 20.0: "4"}),
        ("HGB", 115.0, {110.0: "1", 95.0: "2", 75.0: "3"}),
    ],
)
def test_low_direction_examples(paramcd, anrlo, cases):
    vals = list(cases)
    assert _low([paramcd] * len(vals), vals, [anrlo] * len(vals)) == [cases[v] for v in vals]


def test_alt_normal_baseline():
    assert _high("ALT", [45.0, 130.0, 210.0, 850.0], 40.0, 35.0, "NORMAL") == ["1", "2", "3", "4"]
    assert _high("ALT", [40.0, 30.0], 40.0, 35.0, "NORMAL") == ["0", "0"]  # strict > ULN


def test_alt_high_baseline():
    # 85 is above ULN but < 1.5 x BASE (90) -> grade 0
    assert _high("ALT", [85.0, 95.0, 190.0], 40.0, 60.0, "HIGH") == ["0", "1", "2"]
    assert _high("ALT", [90.0, 300.5, 1201.0], 40.0, 60.0, "HIGH") == ["1", "3", "4"]


def test_creat_examples():
    assert _high("CREAT", [100.0, 120.0, 220.0, 600.0], 97.0, 70.0, "NORMAL") == ["1", "2", "3", "4"]
    assert _high("CREAT", [90.0], 97.0, 70.0, "NORMAL") == ["0"]


def test_null_and_missing_range():
    # null AVAL -> null; NEUT with no ANRLO: >= 1.5 -> null, < 1.5 still graded
    assert _low(["NEUT", "NEUT", "NEUT"], [None, 1.7, 1.2], [1.8, None, None]) == [None, None, "2"]
    # HGB has no grade 4 by value
    assert _low(["HGB"], [50.0], [115.0]) == ["3"]
    # ungraded parameter -> null
    assert _low(["SODIUM"], [120.0], [135.0]) == [None]
    assert _high("SODIUM", [150.0], 145.0, 140.0, "NORMAL") == [None]
    # ALT without ULN on the normal branch -> null; CREAT without ULN but > 1.5 x BASE -> 2
    assert _high("ALT", [100.0], None, 30.0, "NORMAL") == [None]
    assert _high("CREAT", [120.0, 80.0], None, 70.0, "NORMAL") == ["2", None]


def test_unrounded_strict_comparison():
    # 0.4999 is < 0.5 even though it rounds to 0.5
    assert _low(["NEUT", "NEUT"], [0.4999, 0.5], [1.8, 1.8]) == ["4", "3"]
    # BILI: HIGH baseline grade 1 strictly > 1 x BASE
    assert _high("BILI", [30.0, 30.01], 21.0, 30.0, "HIGH") == ["0", "1"]


def test_low_criteria_in_the_delivery_unit():
    """HGB thresholds are g/L: a delivery in mmol/L or g/dL is converted first, and a unit with no
    known factor is not graded (the CDISC pilot's HGB is in mmol/L)."""
    from pipeline.adam.adlb import derive_toxgr

    df = pl.DataFrame({
        "PARAMCD": ["HGB", "HGB", "HGB", "HGB", "PLT", "HGB"],
        "AVAL": [4.5, 8.4, 7.9, 95.0, 30.0, 5.0],
        "ANRLO": [7.5, 7.5, 12.0, 120.0, 150.0, 7.5],
        "ANRHI": [10.0, 10.0, 16.0, 160.0, 400.0, 10.0],
        "BASE": [None] * 6, "BNRIND": [None] * 6,
        "LBSTRESU": ["mmol/L", "mmol/L", "g/dL", None, "GI/L", "mg/dL"],
    }, schema_overrides={"BASE": pl.Float64, "BNRIND": pl.Utf8})
    # 4.5 mmol/L = 72.5 g/L < 80 -> 3; 8.4 mmol/L = 135.3 g/L, LLN 120.8 -> 0;
    # 7.9 g/dL = 79 g/L -> 3; 95 g/L (unit not stated: criteria unit) -> 2; PLT 30 GI/L -> 3; mg/dL -> not graded
    assert derive_toxgr(df)["ATOXGRL"].to_list() == ["3", "0", "3", "2", "3", None]
