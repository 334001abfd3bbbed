"""ADLB derivations: ABLFL, BASE, CHG/PCHG, ANRIND, ONTRTFL, grades and worst flags (adam.md §3)."""

from datetime import date, datetime

import polars as pl

from pipeline.adam.adlb import (
    derive_ablfl,
    derive_adlb,
    derive_anrind,
    derive_ontrtfl,
)

TRTSDT = date(2022, 1, 10)
TRTEDT = date(2022, 4, 5)
ADSL = pl.DataFrame(
    {"USUBJID": ["S1", "S2"], "TRTSDT": [TRTSDT, TRTSDT], "TRTSDTM": [datetime(2022, 1, 10, 9, 0)] * 2, "TRTEDT": [TRTEDT, TRTEDT]}
)


def _lb(rows):
    """rows: (USUBJID, LBTESTCD, LBDTC, LBSTRESN, LBSTNRLO, LBSTNRHI[, VISIT])."""
    recs = []
    for i, r in enumerate(rows, start=1):
        subj, code, dtc, val, lo, hi = r[:6]
        recs.append(
            {
                "USUBJID": subj,
                "LBSEQ": i,
                "LBTESTCD": code,
                "LBTEST": {"NEUT": "Neutrophils", "ALT": "Alanine Aminotransferase", "CREAT": "Creatinine"}.get(code, code),
                "LBSTRESN": val,
                "LBSTRESU": {"NEUT": "10^9/L", "ALT": "U/L", "CREAT": "umol/L"}.get(code, "x"),
                "LBSTNRLO": lo,
                "LBSTNRHI": hi,
                "LBDTC": dtc,
                "VISIT": r[6] if len(r) > 6 else "CYCLE 1 DAY 1",
                "VISITNUM": 101.0,
            }
        )
    return pl.DataFrame(
        recs,
        schema={
            "USUBJID": pl.Utf8, "LBSEQ": pl.Int64, "LBTESTCD": pl.Utf8, "LBTEST": pl.Utf8, "LBSTRESN": pl.Float64,
            "LBSTRESU": pl.Utf8, "LBSTNRLO": pl.Float64, "LBSTNRHI": pl.Float64, "LBDTC": pl.Utf8, "VISIT": pl.Utf8,
            "VISITNUM": pl.Float64,
        },
    )


NEUT = [
    ("S1", "NEUT", "2022-01-03", 4.0, 1.8, 7.5, "SCREENING"),
    ("S1", "NEUT", "2022-01-10T08:00", 3.0, 1.8, 7.5),       # pre-dose -> baseline
    ("S1", "NEUT", "2022-01-10T11:00", 2.9, 1.8, 7.5),       # post-dose same day: not baseline, not on-treatment
    ("S1", "NEUT", "2022-01-24", 1.2, 1.8, 7.5, "UNSCHEDULED 101.01"),
    ("S1", "NEUT", "2022-01-31", 0.9, 1.8, 7.5),             # grade 3, first
    ("S1", "NEUT", "2022-02-21", 0.9, 1.8, 7.5),             # grade 3 tie, later
    ("S1", "NEUT", "2022-05-05", 1.6, 1.8, 7.5),             # last on-treatment day (TRTEDT + 30)
    ("S1", "NEUT", "2022-05-06", 0.3, 1.8, 7.5),             # off-treatment: grade 4 but not worst-flagged
    ("S1", "NEUT", "2022-02", 0.2, 1.8, 7.5),                # partial date: dropped from analysis
]


def test_neut_subject_end_to_end():
    out = derive_adlb(_lb(NEUT), ADSL)
    assert out.height == len(NEUT)
    assert out["PARAM"][0] == "Neutrophils (10^9/L)"
    assert out["ABLFL"].to_list() == [None, "Y", None, None, None, None, None, None, None]
    assert out["BASE"].to_list() == [3.0] * 9
    assert out["BNRIND"].to_list() == ["NORMAL"] * 9
    assert out["BTOXGRL"].to_list() == ["0"] * 9
    chg = out["CHG"].to_list()
    assert chg[:2] == [None, None]
    assert abs(chg[2] - (-0.1)) < 1e-12 and abs(chg[4] - (-2.1)) < 1e-12
    assert abs(out["PCHG"][4] - (-70.0)) < 1e-9
    assert out["CHG"][8] is None  # partial date
    assert out["ANL01FL"].to_list() == ["Y"] * 8 + [None]
    assert out["ONTRTFL"].to_list() == [None, None, None, "Y", "Y", "Y", "Y", None, None]
    assert out["ATOXGRL"].to_list() == ["0", "0", "0", "2", "3", "3", "1", "4", "4"]
    assert out["ANRIND"].to_list() == ["NORMAL", "NORMAL", "NORMAL", "LOW", "LOW", "LOW", "LOW", "LOW", "LOW"]
    assert out["WGRLOFL"].to_list() == [None, None, None, None, "Y", None, None, None, None]
    assert out["WNRLOFL"].to_list() == [None, None, None, None, "Y", None, None, None, None]
    # no HIGH values: worst-high falls on the highest on-treatment value (1.6)
    assert out["WNRHIFL"].to_list() == [None, None, None, None, None, None, "Y", None, None]
    # NEUT has no high-direction grading
    assert out["ATOXGRH"].to_list() == [None] * 9 and out["WGRHIFL"].to_list() == [None] * 9
    assert out["AVISIT"].to_list()[:4] == ["SCREENING", "BASELINE", "CYCLE 1 DAY 1", "UNSCHEDULED"]
    assert out["AVISITN"].to_list()[1] == 0.0 and out["AVISITN"].to_list()[3] is None
    assert out["ADY"].to_list()[:5] == [-7, 1, 1, 15, 22]


def test_ablfl_rules():
    rows = [
        ("S1", "ALT", "2022-01-05", 30.0, None, 40.0),
        ("S1", "ALT", "2022-01-10", None, None, 40.0),           # missing AVAL not eligible
        ("S1", "ALT", "2022-01-10T10:00", 31.0, None, 40.0),     # post-dose (dose 09:00)
        ("S2", "ALT", "2022-01-04", 30.0, None, 40.0),
        ("S2", "ALT", "2022-01-10", 33.0, None, 40.0),           # same day, time unknown -> baseline
    ]
    out = derive_adlb(_lb(rows), ADSL)
    assert out["ABLFL"].to_list() == ["Y", None, None, None, "Y"]
    assert out["BASE"].to_list() == [30.0, 30.0, 30.0, 33.0, 33.0]
    # no TRTSDTM in ADSL: same-day records have unknown dose time -> eligible
    out2 = derive_adlb(_lb(rows), ADSL.drop("TRTSDTM"))
    assert out2["ABLFL"].to_list() == [None, None, "Y", None, "Y"]


def test_no_baseline_and_zero_base():
    rows = [
        ("S1", "CREAT", "2022-01-20", 80.0, None, 97.0),         # no pre-dose value: BASE null
        ("S2", "CREAT", "2022-01-05", 0.0, None, 97.0),
        ("S2", "CREAT", "2022-01-20", 80.0, None, 97.0),
    ]
    out = derive_adlb(_lb(rows), ADSL)
    assert out["ABLFL"].to_list() == [None, "Y", None]
    assert out["BASE"].to_list() == [None, 0.0, 0.0]
    assert out["CHG"].to_list() == [None, None, 80.0]
    assert out["PCHG"].to_list() == [None, None, None]  # BASE = 0


def test_alt_high_baseline_grades_and_worst_high():
    rows = [
        ("S1", "ALT", "2022-01-03", 60.0, None, 40.0),   # baseline HIGH
        ("S1", "ALT", "2022-01-24", 85.0, None, 40.0),   # above ULN but < 1.5 x BASE -> 0
        ("S1", "ALT", "2022-02-14", 95.0, None, 40.0),   # -> 1
        ("S1", "ALT", "2022-03-07", 190.0, None, 40.0),  # -> 2
        ("S1", "ALT", "2022-03-28", 190.0, None, 40.0),  # -> 2 (tie, later)
        ("S2", "ALT", "2022-01-03", 30.0, None, 40.0),   # baseline normal
        ("S2", "ALT", "2022-01-24", 45.0, None, 40.0),
        ("S2", "ALT", "2022-02-14", 130.0, None, 40.0),
        ("S2", "ALT", "2022-03-07", 210.0, None, 40.0),
        ("S2", "ALT", "2022-03-28", 850.0, None, 40.0),
    ]
    out = derive_adlb(_lb(rows), ADSL)
    assert out["BNRIND"].to_list() == ["HIGH"] * 5 + ["NORMAL"] * 5
    assert out["ATOXGRH"].to_list()[1:5] == ["0", "1", "2", "2"]
    assert out["ATOXGRH"].to_list()[6:] == ["1", "2", "3", "4"]
    assert out["BTOXGRH"].to_list()[5:] == ["0"] * 5
    assert out["WGRHIFL"].to_list() == [None, None, None, "Y", None, None, None, None, None, "Y"]
    assert out["WNRHIFL"].to_list() == [None, None, None, "Y", None, None, None, None, None, "Y"]
    # ALT has no low-direction grading
    assert out["ATOXGRL"].to_list() == [None] * 10 and out["WGRLOFL"].to_list() == [None] * 10


def test_creat_example_in_adlb():
    rows = [("S1", "CREAT", "2022-01-03", 70.0, 45.0, 97.0)] + [
        ("S1", "CREAT", f"2022-0{m}-01", v, 45.0, 97.0) for m, v in zip((2, 3, 4, 5), (100.0, 120.0, 220.0, 600.0))
    ]
    out = derive_adlb(_lb(rows), ADSL)
    assert out["ATOXGRH"].to_list() == ["0", "1", "2", "3", "4"]
    assert out["ONTRTFL"].to_list() == [None, "Y", "Y", "Y", "Y"]
    assert out["WGRHIFL"].to_list() == [None, None, None, None, "Y"]


def test_anrind_strict():
    df = pl.DataFrame({"AVAL": [1.7, 1.8, 7.5, 7.6, None, 5.0], "ANRLO": [1.8] * 5 + [None], "ANRHI": [7.5] * 5 + [None]})
    assert derive_anrind(df)["ANRIND"].to_list() == ["LOW", "NORMAL", "NORMAL", "HIGH", None, None]


def test_ontrtfl_window():
    df = pl.DataFrame(
        {
            "ADT": [date(2022, 1, 10), date(2022, 1, 11), date(2022, 5, 5), date(2022, 5, 6), None],
            "TRTSDT": [TRTSDT] * 5,
            "TRTEDT": [TRTEDT] * 5,
        }
    )
    assert derive_ontrtfl(df)["ONTRTFL"].to_list() == [None, "Y", "Y", None, None]
    assert derive_ontrtfl(df, window_days=31)["ONTRTFL"].to_list() == [None, "Y", "Y", "Y", None]


def test_ablfl_standalone_with_lbseq_tiebreak():
    df = pl.DataFrame(
        {
            "USUBJID": ["S1", "S1"], "PARAMCD": ["HGB", "HGB"], "LBSEQ": [1, 2], "AVAL": [120.0, 118.0],
            "ADT": [date(2022, 1, 5)] * 2, "TRTSDT": [TRTSDT] * 2,
        }
    )
    assert derive_ablfl(df)["ABLFL"].to_list() == [None, "Y"]
