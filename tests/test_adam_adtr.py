"""ADTR worked example (adam.md §7)."""

from datetime import date, timedelta

import polars as pl
import pytest

from pipeline.adam import adtr

TRTSDT = date(2022, 1, 10)

# visit: (study day, T01 lung LDIAM, T02 liver LDIAM, T03 node SAXIS)
VISITS = [(-5, 30, 25, 18), (43, 24, 20, 12), (85, 18, 15, 9), (127, 20, 18, 10), (169, 25, 22, 11)]


def d(day: int) -> date:
    return TRTSDT + timedelta(days=day if day < 0 else day - 1)


def _tr(visits=VISITS, usubjid="S1") -> pl.DataFrame:
    rows = []
    for day, t1, t2, t3 in visits:
        for lid, code, val in (("T01", "LDIAM", t1), ("T02", "LDIAM", t2), ("T03", "SAXIS", t3)):
            rows.append({"USUBJID": usubjid, "ADT": d(day), "ADY": day, "TRLNKID": lid,
                         "TRTESTCD": code, "TRSTRESN": val, "TRGRPID": "TARGET"})
    return pl.DataFrame(rows, schema_overrides={"TRSTRESN": pl.Float64})


OVR = pl.DataFrame({"USUBJID": ["S1"] * 4, "ADT": [d(43), d(85), d(127), d(169)],
                    "AVALC": ["SD", "PR", "PR", "PD"]})


@pytest.fixture(scope="module")
def out():
    return adtr.adtr(_tr(), OVR, nodal_code="SAXIS")


def test_sdiam_and_baseline(out):
    assert out["AVAL"].to_list() == [73, 56, 42, 48, 58]
    assert out["ANL01FL"].to_list() == ["Y"] * 5
    assert out["ABLFL"].to_list() == ["Y", None, None, None, None]
    assert out["BASE"].to_list() == [73] * 5


def test_pchg(out):
    assert out["PCHG"].to_list()[1:] == pytest.approx([-23.29, -42.47, -34.25, -20.55], abs=0.005)


def test_nadir(out):
    assert out["NADIR"].to_list() == [None, 73, 56, 42, 42]
    assert out["CHGNAD"].to_list() == [None, -17, -14, 6, 16]
    assert out["PCHGNAD"].to_list()[1:] == pytest.approx([-23.29, -25.00, 14.29, 38.10], abs=0.005)


def test_best_change_flags(out):
    assert out["ANL02FL"].to_list() == [None, None, "Y", None, None]
    assert out["ANL03FL"].to_list() == [None, None, "Y", None, None]
    assert out["PDFL"].to_list() == [None, None, None, None, "Y"]


def test_lesion_params():
    lp = adtr.lesion_params(adtr.target_measurements(_tr(), nodal_code="SAXIS"))
    assert sorted(lp["PARAMCD"].unique().to_list()) == ["LDIAM01", "LDIAM02", "LDIAM03"]


def test_missing_lesion_not_anl01_and_nadir_skips_it():
    visits = [(-5, 30, 25, 18), (43, 24, None, 12), (85, 18, 15, 9)]
    o = adtr.adtr(_tr(visits), nodal_code="SAXIS")
    assert o["ANL01FL"].to_list() == ["Y", None, "Y"]
    assert o["AVAL"].to_list() == [73, 36, 42]
    assert o["NADIR"].to_list() == [None, 73, 73]     # week 6 (incomplete) is not a nadir
    assert o["ANL02FL"].to_list() == [None, None, "Y"]


def test_anl03fl_window_nact_and_nadir_zero():
    subj = pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [TRTSDT], "NACTDT": [d(60)]})
    o = adtr.adtr(_tr(), OVR, subj, nodal_code="SAXIS")
    assert o["ANL02FL"].to_list() == [None, None, "Y", None, None]
    assert o["ANL03FL"].to_list() == [None, "Y", None, None, None]   # only week 6 before NACT
    z = adtr.adtr(_tr([(-5, 30, 25, 18), (43, 0, 0, 0), (85, 5, 0, 0)]), nodal_code="SAXIS")
    assert z["NADIR"].to_list() == [None, 73, 0]
    assert z["PCHGNAD"].to_list()[2] is None
    # ADY derived from TRTSDT when absent
    o2 = adtr.adtr(_tr().drop("ADY"), OVR, subj, nodal_code="SAXIS")
    assert o2["ADY"].to_list() == [-5, 43, 85, 127, 169]
    assert adtr.waterfall_excluded(o2).height == 0
