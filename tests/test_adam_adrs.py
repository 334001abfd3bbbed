"""ADRS derivations (adam.md §5): worked cases A–I, ANL01FL/ANL02FL, CRSP/RSP/PD/CB/CB24/LSTA."""

from datetime import date, timedelta

import polars as pl
import pytest

from pipeline.adam import adrs

TRTSDT = date(2022, 1, 10)
DCO = date(2023, 8, 27)


def d(day: int) -> date:
    """Study day -> date (TRTSDT = day 1)."""
    return TRTSDT + timedelta(days=day - 1)


def ovr_frame(records: dict[str, list[tuple[int, str]]]) -> pl.DataFrame:
    rows = [(s, d(day), v) for s, recs in records.items() for day, v in recs]
    return pl.DataFrame(rows, schema={"USUBJID": pl.String, "ADT": pl.Date, "AVALC": pl.String},
                        orient="row")


def subjects_frame(ids, nact: dict[str, int] | None = None) -> pl.DataFrame:
    nact = nact or {}
    return pl.DataFrame({"USUBJID": list(ids), "TRTSDT": [TRTSDT] * len(ids),
                         "NACTDT": [d(nact[s]) if s in nact else None for s in ids]},
                        schema={"USUBJID": pl.String, "TRTSDT": pl.Date, "NACTDT": pl.Date})


def by_subject(df: pl.DataFrame) -> dict[str, tuple]:
    return {r["USUBJID"]: (r["AVALC"], r["ADT"], r["AVAL"]) for r in df.iter_rows(named=True)}


# case: (OVR sequence, BOR (value, day), CBOR (value, day), CBOR value if accept_sd)
CASES = {
    "A": ([(43, "PR"), (85, "PR"), (127, "PD")], ("PR", 43), ("PR", 43), "PR"),
    "B": ([(43, "PR"), (85, "SD"), (127, "PR"), (169, "PD")], ("PR", 43), ("SD", 43), "PR"),
    "C": ([(30, "SD"), (78, "PD")], ("PD", 78), ("PD", 78), "PD"),
    "C2": ([(36, "SD"), (78, "PD")], ("SD", 36), ("SD", 36), "SD"),
    "D": ([], ("MISSING", None), ("MISSING", None), "MISSING"),
    "E": ([(43, "CR"), (64, "NE"), (85, "CR"), (127, "CR")], ("CR", 43), ("CR", 43), "CR"),
    "F": ([(43, "CR"), (64, "NE"), (75, "NE"), (85, "CR")], ("CR", 43), ("SD", 43), "SD"),
    "G": ([(43, "PR"), (64, "PR"), (85, "PD"), (127, "CR")], ("PR", 43), ("SD", 43), "SD"),
    "H": ([(43, "PR"), (85, "NE"), (127, "NE"), (169, "PR")], ("PR", 43), ("SD", 43), "SD"),
    "I": ([(30, "NE"), (43, "NE")], ("NE", 30), ("NE", 30), "NE"),
}


@pytest.fixture(scope="module")
def cases():
    ovr = ovr_frame({k: v[0] for k, v in CASES.items()})
    subj = subjects_frame(CASES)
    return adrs.flag_analysis_records(ovr, subj, DCO), subj


def _expect(value, day):
    return value, (d(day) if day is not None else None), adrs.AVAL_RESP[value]


@pytest.mark.parametrize("case", list(CASES))
def test_bor(cases, case):
    ovr, subj = cases
    got = by_subject(adrs.best_overall_response(ovr, subj))
    assert got[case] == _expect(*CASES[case][1])


@pytest.mark.parametrize("case", list(CASES))
def test_cbor(cases, case):
    ovr, subj = cases
    got = by_subject(adrs.confirmed_best_overall_response(ovr, subj))
    assert got[case] == _expect(*CASES[case][2])


@pytest.mark.parametrize("case", list(CASES))
def test_cbor_accept_sd(cases, case):
    ovr, subj = cases
    got = by_subject(adrs.confirmed_best_overall_response(ovr, subj, accept_sd=True))
    assert got[case][0] == CASES[case][3]
    if case == "B":
        assert got[case][1] == d(43)


def test_output_shape(cases):
    ovr, subj = cases
    for fn in (adrs.best_overall_response, adrs.confirmed_best_overall_response,
               adrs.confirmed_response, adrs.response, adrs.first_progression,
               adrs.clinical_benefit, adrs.clinical_benefit_24, adrs.last_assessment):
        out = fn(ovr, subj)
        assert out.columns == list(adrs.OUTPUT_COLUMNS)
        assert out["USUBJID"].to_list() == sorted(CASES)
        assert out.schema["ADT"] == pl.Date and out.schema["AVAL"] == pl.Int64


def test_config_defaults_are_overridable(cases):
    ovr, subj = cases
    # with a 29-day window the C case's day-30 SD counts -> SD beats PD
    got = by_subject(adrs.best_overall_response(ovr, subj, ref_start_window=29))
    assert got["C"][0] == "SD"
    # allowing two NEs confirms F (CR) and H (PR)
    got = by_subject(adrs.confirmed_best_overall_response(ovr, subj, max_nr_ne=2))
    assert got["F"][:2] == ("CR", d(43)) and got["H"][:2] == ("PR", d(43))
    # a 43-day confirmation interval: E's CR at 43 is confirmed by 127 (CR/NE/CR between)
    got = by_subject(adrs.confirmed_best_overall_response(ovr, subj, ref_confirm=43))
    assert got["E"][:2] == ("CR", d(43)) and got["A"][:2] == ("SD", d(43))


# ---------------------------------------------------------------------------------------------
# ANL01FL / ANL02FL
# ---------------------------------------------------------------------------------------------
def test_analysis_flags():
    ovr = ovr_frame({
        "S1": [(-5, "SD"),            # baseline -> excluded
               (43, "NE"), (43, "PR"),  # same date: PR is worse than NE -> PR flagged
               (85, "SD"), (85, "PD"),  # same date: PD worst
               (127, "CR"),           # after first PD -> ANL01 only
               (200, "PD")],          # on/after NACT (day 200) -> excluded
        "S2": [(1, "SD"), (50, "PR")],  # day 1 = TRTSDT -> included
        "S3": [(43, "SD"), (600, "PD")],  # day 600 > DCO -> excluded
    })
    subj = subjects_frame(["S1", "S2", "S3"], nact={"S1": 200})
    dco = d(500)
    out = adrs.flag_analysis_records(ovr, subj, dco)
    assert out.height == ovr.height
    assert out.columns == ["USUBJID", "ADT", "AVALC", "ANL01FL", "ANL02FL"]
    flags = [(r["USUBJID"], (r["ADT"] - TRTSDT).days + 1, r["AVALC"], r["ANL01FL"], r["ANL02FL"])
             for r in out.iter_rows(named=True)]
    assert flags == [
        ("S1", -5, "SD", None, None),
        ("S1", 43, "NE", None, None),
        ("S1", 43, "PR", "Y", "Y"),
        ("S1", 85, "SD", None, None),
        ("S1", 85, "PD", "Y", "Y"),
        ("S1", 127, "CR", "Y", None),
        ("S1", 200, "PD", None, None),
        ("S2", 1, "SD", "Y", "Y"),
        ("S2", 50, "PR", "Y", "Y"),
        ("S3", 43, "SD", "Y", "Y"),
        ("S3", 600, "PD", None, None),
    ]
    # downstream: LSTA uses ANL01FL, PD uses first ANL01FL PD, BOR stops at the first PD
    lsta = by_subject(adrs.last_assessment(out, subj))
    assert lsta["S1"] == ("CR", d(127), 1) and lsta["S3"] == ("SD", d(43), 3)
    pd_ = by_subject(adrs.first_progression(out, subj))
    assert pd_["S1"] == ("Y", d(85), 1) and pd_["S3"] == ("N", None, 0)
    bor = by_subject(adrs.best_overall_response(out, subj))
    assert bor["S1"][:2] == ("PR", d(43))


def test_flags_without_nactdt_column_and_no_dco():
    ovr = ovr_frame({"S1": [(43, "SD"), (900, "PD")]})
    subj = pl.DataFrame({"USUBJID": ["S1"], "TRTSDT": [TRTSDT]})
    out = adrs.flag_analysis_records(ovr, subj, None)
    assert out["ANL01FL"].to_list() == ["Y", "Y"]


# ---------------------------------------------------------------------------------------------
# CRSP / RSP / CB / CB24 / LSTA
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hand():
    records = {
        "R1": [(43, "PR"), (85, "PR"), (127, "PD")],      # confirmed PR
        "R2": [(43, "PR"), (64, "SD"), (85, "PR")],       # SD between -> unconfirmed
        "R3": [(43, "SD"), (85, "PD"), (127, "PR")],      # PR after PD ignored
        "R4": [(36, "SD"), (78, "PD")],                   # SD at day 36 -> CB
        "R5": [(30, "SD"), (78, "PD")],                   # SD too early -> no CB
        "R6": [(43, "SD"), (162, "SD")],                  # CB24 at day 162
        "R7": [(43, "SD"), (161, "SD"), (200, "PD")],     # day 161 too early for CB24
        "R8": [(43, "SD"), (100, "PD"), (170, "SD")],     # SD after PD -> no CB24
        "R9": [(43, "CR"), (57, "CR"), (71, "CR")],       # confirmed CR by day 71 (28 days)
        "R10": [(43, "PR"), (64, "CR"), (85, "PR")],      # PR after CR -> not confirmed
        "R11": [(43, "PR"), (71, "CR")],                  # PR confirmed by CR
        "R12": [(43, "NON-CR/NON-PD"), (170, "NON-CR/NON-PD")],
        "R13": [],
    }
    ovr = ovr_frame(records)
    subj = subjects_frame(records)
    return adrs.flag_analysis_records(ovr, subj, DCO), subj


def test_crsp(hand):
    ovr, subj = hand
    got = by_subject(adrs.confirmed_response(ovr, subj))
    assert got["R1"] == ("Y", d(43), 1)
    assert got["R9"] == ("Y", d(43), 1)
    assert got["R11"] == ("Y", d(43), 1)
    for s in ("R2", "R3", "R4", "R10", "R12", "R13"):
        assert got[s] == ("N", None, 0), s
    assert by_subject(adrs.confirmed_response(ovr, subj, accept_sd=True))["R2"] == ("Y", d(43), 1)


def test_confirmed_responses_detail(hand):
    ovr, subj = hand
    recs = ovr.filter(pl.col("ANL02FL") == "Y")
    got = {(r["USUBJID"], r["AVALC"]): (r["ADT"], r["CNFDT"])
           for r in adrs.confirmed_responses(recs).iter_rows(named=True)}
    assert got[("R1", "PR")] == (d(43), d(85))
    assert got[("R9", "CR")] == (d(43), d(71))
    assert got[("R11", "PR")] == (d(43), d(71))    # AVALC stays PR when a CR confirms it
    assert ("R10", "PR") not in got
    cbor = by_subject(adrs.confirmed_best_overall_response(ovr, subj))
    assert cbor["R9"][:2] == ("CR", d(43)) and cbor["R10"][:2] == ("SD", d(43))
    assert cbor["R12"][:2] == ("NON-CR/NON-PD", d(43)) and cbor["R13"][0] == "MISSING"


def test_rsp(hand):
    ovr, subj = hand
    got = by_subject(adrs.response(ovr, subj))
    assert got["R1"] == ("Y", d(43), 1)
    assert got["R2"] == ("Y", d(43), 1)
    assert got["R3"] == ("N", None, 0)      # PR only after the first PD
    assert got["R13"] == ("N", None, 0)


def test_cb(hand):
    ovr, subj = hand
    crsp = adrs.confirmed_response(ovr, subj)
    got = by_subject(adrs.clinical_benefit(ovr, subj, crsp))
    assert got["R4"] == ("Y", d(36), 1)     # ADT - TRTSDT = 35
    assert got["R5"] == ("N", None, 0)      # day 30 SD, then PD
    assert got["R1"] == ("Y", d(43), 1)
    assert got["R12"] == ("Y", d(43), 1)
    assert got["R13"] == ("N", None, 0)
    assert adrs.clinical_benefit(ovr, subj).equals(adrs.clinical_benefit(ovr, subj, crsp))


def test_cb24(hand):
    ovr, subj = hand
    got = by_subject(adrs.clinical_benefit_24(ovr, subj))
    assert got["R6"] == ("Y", d(162), 1)    # ADT - TRTSDT = 161
    assert got["R7"] == ("N", None, 0)      # day 161 -> ADT - TRTSDT = 160
    assert got["R8"] == ("N", None, 0)      # SD at 170 comes after PD at 100
    assert got["R12"] == ("Y", d(170), 1)
    assert got["R1"] == ("Y", d(43), 1)     # confirmed responder (source_resp = CRSP)
    assert got["R4"] == ("N", None, 0)
    assert set(adrs.clinical_benefit_24(ovr, subj)["PARAMCD"]) == {"CB24"}


def test_lsta_missing(hand):
    ovr, subj = hand
    got = by_subject(adrs.last_assessment(ovr, subj))
    assert got["R13"] == ("MISSING", None, 7)
    assert got["R3"] == ("PR", d(127), 2)


def test_derive_response_parameters(cases):
    _, subj = cases
    ovr = ovr_frame({k: v[0] for k, v in CASES.items()})
    out = adrs.derive_response_parameters(ovr, subj, DCO)
    assert out.height == 10 * len(CASES)
    assert set(out["PARAMCD"]) == {"PD", "RSP", "CRSP", "BOR", "CBOR", "BCP", "CBCP", "CB", "CB24", "LSTA"}
    assert out["PARAM"].null_count() == 0
    # BCP / CBCP mirror BOR / CBOR in {CR, PR}, dated like them
    wide = {p: dict(zip(f["USUBJID"], zip(f["AVALC"], f["ADT"]))) for p, f in
            ((p, out.filter(pl.col("PARAMCD") == p)) for p in ("BOR", "CBOR", "BCP", "CBCP"))}
    for best, flag in (("BOR", "BCP"), ("CBOR", "CBCP")):
        for subj_id, (avalc, adt) in wide[best].items():
            expected = ("Y", adt) if avalc in ("CR", "PR") else ("N", None)
            assert wide[flag][subj_id] == expected, (flag, subj_id)
    assert {v for v, _ in wide["CBCP"].values()} == {"Y", "N"}


def test_subject_status_parameters():
    adsl = pl.DataFrame({"USUBJID": ["S1", "S2", "S3"], "MDIS": ["Y", "N", None],
                         "DTHDT": [d(300), None, None]})
    out = adrs.subject_status_parameters(adsl)
    got = {(r["USUBJID"], r["PARAMCD"]): (r["AVALC"], r["AVAL"], r["ADT"]) for r in out.iter_rows(named=True)}
    assert got == {
        ("S1", "MDIS"): ("Y", 1, None), ("S2", "MDIS"): ("N", 0, None), ("S3", "MDIS"): (None, None, None),
        ("S1", "DEATH"): ("Y", 1, d(300)), ("S2", "DEATH"): ("N", 0, None), ("S3", "DEATH"): ("N", 0, None),
    }
    assert set(out["PARAM"]) == {"Measurable Disease at Baseline by Investigator", "Death"}


def test_many_subjects_vectorised():
    """20,000 subjects in one call (vectorised joins; timing belongs in benchmarks/)."""
    n = 20_000
    seq = [(43, "PR"), (64, "NE"), (85, "PR"), (127, "SD"), (169, "PD"), (211, "CR")]
    ovr = pl.DataFrame({
        "USUBJID": [f"S{i}" for i in range(n) for _ in seq],
        "ADT": [d(day) for _ in range(n) for day, _ in seq],
        "AVALC": [v for _ in range(n) for _, v in seq],
    })
    subj = subjects_frame([f"S{i}" for i in range(n)])
    out = adrs.derive_response_parameters(ovr, subj, DCO)
    cbor = out.filter(pl.col("PARAMCD") == "CBOR")
    assert cbor["AVALC"].unique().to_list() == ["PR"]
