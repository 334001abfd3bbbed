"""ADTTE worked examples (adam.md §6): PFS P1–P7 incl. P5b, PFSNC, OS, DoR, TTR."""

from datetime import date, timedelta

import polars as pl
import pytest

from pipeline.adam import adtte

TRTSDT = date(2022, 1, 10)
DCO = date(2023, 8, 27)


def d(day: int) -> date:
    """Study day -> date (TRTSDT = day 1)."""
    return TRTSDT + timedelta(days=day - 1)


# subject: (OVR records [(day, AVALC, ANL01FL)], death day, NACT day, baseline?)
PFS_CASES = {
    "P1": ([(43, "SD", "Y"), (85, "PR", "Y"), (127, "PD", "Y")], None, None, True),
    "P2": ([(43, "SD", "Y"), (85, "SD", "Y")], 150, None, True),
    "P3": ([(43, "SD", "Y"), (170, "PD", "Y")], None, None, True),
    # ADRS ANL01FL already drops the post-NACT PD (ADT >= NACTDT)
    "P4": ([(43, "SD", "Y"), (85, "SD", "Y"), (127, "PD", "N")], None, 100, True),
    "P5": ([], 60, None, True),
    "P5b": ([], 120, None, True),
    "P6": ([(43, "SD", "Y"), (85, "NE", "Y"), (127, "SD", "Y")], None, None, True),
    "P7": ([], None, None, False),
}

PFS_EXPECTED = {  # ADT, AVAL, CNSR
    "P1": (date(2022, 5, 16), 127, 0),
    "P2": (date(2022, 6, 8), 150, 0),
    "P3": (date(2022, 2, 21), 43, 4),
    "P4": (date(2022, 4, 4), 85, 3),
    "P5": (date(2022, 3, 10), 60, 0),
    "P5b": (date(2022, 1, 10), 1, 2),
    "P6": (date(2022, 5, 16), 127, 5),
    "P7": (date(2022, 1, 10), 1, 1),
}


def _frames(cases):
    rows, subj = [], []
    seq = 0
    for usubjid, (recs, dth, nact, bl) in cases.items():
        for day, avalc, anl in recs:
            seq += 1
            rows.append({"USUBJID": usubjid, "ADT": d(day), "AVALC": avalc, "ANL01FL": anl,
                         "SRCSEQ": seq})
        subj.append({
            "USUBJID": usubjid, "TRTSDT": TRTSDT, "ENRLDT": TRTSDT - timedelta(days=7),
            "DTHDT": d(dth) if dth else None, "NACTDT": d(nact) if nact else None,
            "LSTALVDT": d(200), "has_baseline_assessment": bl,
        })
    schema = {"USUBJID": pl.String, "ADT": pl.Date, "AVALC": pl.String, "ANL01FL": pl.String,
              "SRCSEQ": pl.Int64}
    return pl.DataFrame(rows, schema=schema), pl.DataFrame(subj)


@pytest.fixture(scope="module")
def pfs_frames():
    return _frames(PFS_CASES)


def _by_subject(df):
    return {r["USUBJID"]: r for r in df.iter_rows(named=True)}


@pytest.mark.parametrize("subj", list(PFS_EXPECTED))
def test_pfs_fda2018_table(pfs_frames, subj):
    a, s = pfs_frames
    out = _by_subject(adtte.pfs(a, s, gap_days=91, rules="fda2018", dco=DCO))
    row = out[subj]
    assert (row["ADT"], row["AVAL"], row["CNSR"]) == PFS_EXPECTED[subj]
    assert row["PARAMCD"] == "PFS"
    assert row["STARTDT"] == TRTSDT


def test_pfs_defaults_from_config(pfs_frames):
    a, s = pfs_frames
    assert adtte.default_gap_days() == 91
    assert adtte.default_rules() == "fda2018"
    out = adtte.pfs(a, s)
    assert out.height == len(PFS_CASES)
    assert dict(zip(out["USUBJID"], out["CNSR"])) == {k: v[2] for k, v in PFS_EXPECTED.items()}


def test_pfs_sources(pfs_frames):
    a, s = pfs_frames
    out = _by_subject(adtte.pfs(a, s, dco=DCO))
    assert (out["P1"]["SRCDOM"], out["P1"]["SRCVAR"], out["P1"]["EVNTDESC"]) == (
        "ADRS", "ADT", "DISEASE PROGRESSION")
    assert out["P1"]["SRCSEQ"] == 3 and out["P1"]["CNSDTDSC"] is None
    assert (out["P2"]["SRCDOM"], out["P2"]["SRCVAR"], out["P2"]["EVNTDESC"]) == ("ADSL", "DTHDT", "DEATH")
    assert (out["P3"]["SRCDOM"], out["P3"]["SRCVAR"]) == ("ADRS", "ADT")
    assert (out["P5b"]["SRCDOM"], out["P5b"]["SRCVAR"]) == ("ADSL", "TRTSDT")
    assert (out["P7"]["SRCDOM"], out["P7"]["SRCVAR"]) == ("ADSL", "TRTSDT")
    assert out["P6"]["CNSDTDSC"] == "LAST ADEQUATE ASSESSMENT"


def test_pfsnc_p3_p4_event_at_pd(pfs_frames):
    a, s = pfs_frames
    out = _by_subject(adtte.pfs(a, s, ignore_nact_and_gap=True, dco=DCO))
    assert out["P3"]["PARAMCD"] == "PFSNC"
    assert (out["P3"]["ADT"], out["P3"]["AVAL"], out["P3"]["CNSR"]) == (d(170), 170, 0)
    assert (out["P4"]["ADT"], out["P4"]["AVAL"], out["P4"]["CNSR"]) == (d(127), 127, 0)
    # P5b: the death at day 120 counts without the gap rule
    assert (out["P5b"]["AVAL"], out["P5b"]["CNSR"]) == (120, 0)
    # unchanged cases
    for k in ("P1", "P2", "P6", "P7"):
        assert (out[k]["ADT"], out[k]["AVAL"], out[k]["CNSR"]) == PFS_EXPECTED[k]


def test_pfs_admiralonco_plain_rules(pfs_frames):
    a, s = pfs_frames
    out = _by_subject(adtte.pfs(a, s, rules="admiralonco", dco=DCO))
    assert (out["P3"]["AVAL"], out["P3"]["CNSR"]) == (170, 0)      # no gap rule
    assert (out["P5b"]["AVAL"], out["P5b"]["CNSR"]) == (120, 0)
    assert (out["P4"]["AVAL"], out["P4"]["CNSR"]) == (85, 5)       # PD not in ANL01FL
    assert (out["P6"]["AVAL"], out["P6"]["CNSR"]) == (127, 5)
    assert (out["P7"]["AVAL"], out["P7"]["CNSR"]) == (1, 2)        # no step 1
    with pytest.raises(ValueError):
        adtte.pfs(a, s, rules="other")


def test_pfs_never_dosed_uses_enrldt():
    a = pl.DataFrame(schema={"USUBJID": pl.String, "ADT": pl.Date, "AVALC": pl.String,
                             "ANL01FL": pl.String, "SRCSEQ": pl.Int64})
    s = pl.DataFrame({"USUBJID": ["X"], "TRTSDT": [None], "ENRLDT": [date(2022, 3, 1)],
                      "DTHDT": [None], "NACTDT": [None], "LSTALVDT": [date(2022, 4, 1)],
                      "has_baseline_assessment": [True]},
                     schema_overrides={"TRTSDT": pl.Date, "DTHDT": pl.Date, "NACTDT": pl.Date})
    row = adtte.pfs(a, s, dco=DCO).row(0, named=True)
    assert (row["STARTDT"], row["AVAL"], row["CNSR"], row["SRCVAR"]) == (
        date(2022, 3, 1), 1, 2, "ENRLDT")


def test_os_examples():
    s = pl.DataFrame({
        "USUBJID": ["O1", "O2", "O3"],
        "TRTSDT": [TRTSDT] * 3,
        "DTHDT": [date(2022, 9, 15), None, date(2022, 11, 12)],  # O3: '2022-11' imputed (D)
        "LSTALVDT": [date(2022, 9, 1), date(2023, 3, 1), date(2022, 11, 12)],
    })
    out = _by_subject(adtte.os(s, dco=DCO))
    assert (out["O1"]["AVAL"], out["O1"]["CNSR"]) == (249, 0)
    assert (out["O2"]["AVAL"], out["O2"]["CNSR"]) == (416, 1)
    assert (out["O3"]["AVAL"], out["O3"]["CNSR"]) == (307, 0)
    assert out["O2"]["ADT"] == date(2023, 3, 1) and out["O2"]["PARAMCD"] == "OS"


def test_os_censor_capped_at_dco_and_death_after_dco():
    s = pl.DataFrame({"USUBJID": ["A", "B"], "TRTSDT": [TRTSDT] * 2,
                      "DTHDT": [None, date(2023, 9, 30)],
                      "LSTALVDT": [date(2023, 10, 1), date(2023, 9, 1)]},
                     schema_overrides={"DTHDT": pl.Date})
    out = _by_subject(adtte.os(s, dco=DCO))
    assert (out["A"]["ADT"], out["A"]["CNSR"]) == (DCO, 1)
    assert (out["B"]["ADT"], out["B"]["CNSR"]) == (DCO, 1)


def _resp_frames():
    a, s = _frames({"R1": ([(43, "PR", "Y"), (85, "PR", "Y"), (127, "SD", "Y"), (169, "PD", "Y")],
                           None, None, True),
                    "N1": ([(43, "SD", "Y")], None, None, True)})
    crsp = pl.DataFrame({"USUBJID": ["R1", "N1"], "PARAMCD": ["CRSP"] * 2, "AVALC": ["Y", "N"],
                         "ADT": [d(43), None]}, schema_overrides={"ADT": pl.Date})
    return a, s, crsp


def test_dor_example():
    a, s, crsp = _resp_frames()
    out = adtte.dor(a, s, crsp, dco=DCO)
    assert out["USUBJID"].to_list() == ["R1"]
    row = out.row(0, named=True)
    assert row["PARAMCD"] == "DOR"
    assert (row["STARTDT"], row["ADT"], row["AVAL"], row["CNSR"]) == (
        date(2022, 2, 21), date(2022, 6, 27), 127, 0)


def test_dor_censoring_follows_pfs_rules():
    # response at 43, then SD 85 and nothing more: censored at LAA (CNSR 5)
    a, s = _frames({"R2": ([(43, "PR", "Y"), (85, "PR", "Y"), (127, "SD", "Y")], None, None, True),
                    "R3": ([(43, "PR", "Y"), (85, "PR", "Y"), (250, "PD", "Y")], None, None, True)})
    crsp = pl.DataFrame({"USUBJID": ["R2", "R3"], "AVALC": ["Y", "Y"], "ADT": [d(43), d(43)]})
    out = _by_subject(adtte.dor(a, s, crsp, dco=DCO))
    assert (out["R2"]["ADT"], out["R2"]["CNSR"], out["R2"]["AVAL"]) == (d(127), 5, 85)
    assert (out["R3"]["ADT"], out["R3"]["CNSR"]) == (d(85), 4)


def test_ttr_example():
    _, s, crsp = _resp_frames()
    out = adtte.ttr(crsp, s)
    assert out["USUBJID"].to_list() == ["R1"]
    row = out.row(0, named=True)
    assert (row["PARAMCD"], row["AVAL"], row["CNSR"]) == ("TTR", 43, 0)
