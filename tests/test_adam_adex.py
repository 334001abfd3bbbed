"""ADEX worked example (adam.md §4)."""

from datetime import date

import polars as pl
import pytest

from pipeline.adam import adex

BSA = 1.70
TRTSDT = date(2022, 1, 10)
DCO = date(2023, 8, 27)
CYCLE_DAY1 = {1: 1, 2: 22, 3: 50, 4: 71}  # C3 7 days late


def _ex() -> pl.DataFrame:
    rows = []
    for cyc, dy in CYCLE_DAY1.items():
        reduced = cyc == 4
        epi_level = 60.0 if reduced else 75.0
        rows.append({"USUBJID": "S1", "EXTRT": "EPIRUBICIN", "ACYCLE": cyc, "CYCDY1": dy,
                     "EXDOSE": round(epi_level * BSA, 1), "BSA": BSA, "PLDOSE": epi_level})
        tmz_level = 120.0 if reduced else 150.0
        for day in range(1, 6):
            if cyc == 2 and day == 5:  # TMZ day 5 of C2 not given
                continue
            rows.append({"USUBJID": "S1", "EXTRT": "TEMOZOLOMIDE", "ACYCLE": cyc, "CYCDY1": dy,
                         "EXDOSE": round(tmz_level * BSA, 1), "BSA": BSA, "PLDOSE": tmz_level})
    return pl.DataFrame(rows)


SUBJECTS = pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [TRTSDT], "DTHDT": [None]},
                        schema_overrides={"DTHDT": pl.Date})


def test_record_level_adosemsq():
    rec = adex.adex_records(_ex()).filter(pl.col("EXTRT") == "EPIRUBICIN").sort("ACYCLE")
    assert rec["AVAL"].to_list() == [127.5, 127.5, 127.5, 102.0]
    assert rec["ADOSEMSQ"].to_list() == pytest.approx([75, 75, 75, 60])


@pytest.fixture(scope="module")
def params():
    out = adex.exposure_params(_ex(), SUBJECTS, dco=DCO)
    return {(r["EXTRT"], r["PARAMCD"]): r["AVAL"] for r in out.iter_rows(named=True)}


@pytest.mark.parametrize(
    "drug,paramcd,expected",
    [
        ("EPIRUBICIN", "NCYCLE", 4), ("EPIRUBICIN", "CUMDOSE", 285), ("EPIRUBICIN", "EXPDURD", 91),
        ("EPIRUBICIN", "ADI", 21.92), ("EPIRUBICIN", "PDI", 25), ("EPIRUBICIN", "RDI", 87.7),
        ("EPIRUBICIN", "RD", 95.0), ("EPIRUBICIN", "NDOSRED", 1), ("EPIRUBICIN", "NDELAY", 1),
        ("TEMOZOLOMIDE", "NCYCLE", 4), ("TEMOZOLOMIDE", "CUMDOSE", 2700),
        ("TEMOZOLOMIDE", "EXPDURD", 91), ("TEMOZOLOMIDE", "ADI", 207.69),
        ("TEMOZOLOMIDE", "PDI", 250), ("TEMOZOLOMIDE", "RDI", 83.1), ("TEMOZOLOMIDE", "RD", 90.0),
        ("TEMOZOLOMIDE", "NDOSRED", 1), ("TEMOZOLOMIDE", "NDELAY", 1),
    ],
)
def test_adex_example(params, drug, paramcd, expected):
    assert params[(drug, paramcd)] == pytest.approx(expected, abs=1e-9)


def test_expdurd_capped_by_death():
    subj = pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [TRTSDT], "DTHDT": [date(2022, 3, 31)]})
    out = adex.expdurd(adex.adex_records(_ex()), subj, dco=DCO)
    assert out["EXPDURD"].to_list() == [81.0, 81.0]


def test_doselvl_column_and_adsl_vars(params):
    ex = _ex().with_columns(
        pl.when(pl.col("PLDOSE").is_in([60.0, 120.0])).then(-1).otherwise(0).alias("DOSELVL")
    )
    assert adex.ndosred(ex)["NDOSRED"].to_list() == [1.0, 1.0]
    wide = adex.adsl_dose_vars(adex.exposure_params(_ex(), SUBJECTS, dco=DCO))
    row = wide.row(0, named=True)
    assert row["CDOSEPI"] == pytest.approx(285) and row["CDOSTMZ"] == pytest.approx(2700)
    assert row["RDIEPI"] == pytest.approx(87.7) and row["RDITMZ"] == pytest.approx(83.1)
