"""Binary efficacy endpoints: the worked numbers of endpoints.md §1 and trial.md §5."""

import polars as pl
import pytest

from pipeline.config import endpoints as endpoint_config
from pipeline.endpoints.binary import (binary_endpoints, clopper_pearson, critical_responders, exact_p_greater,
                                       primary_decision, response_distribution)

CP_CASES = [  # x, n, lower, upper (endpoints.md §1)
    (3, 20, 0.032071, 0.378927), (0, 20, 0.0, 0.1684), (20, 20, 0.8316, 1.0), (1, 10, 0.0025, 0.4450),
    (7, 28, 0.1069, 0.4487), (8, 28, 0.1322, 0.4867), (12, 28, 0.2446, 0.6282), (19, 28, 0.4765, 0.8412),
]


@pytest.mark.parametrize("x,n,lo,hi", CP_CASES)
def test_clopper_pearson_worked_intervals(x, n, lo, hi):
    got_lo, got_hi = clopper_pearson(x, n)
    assert got_lo == pytest.approx(lo, abs=1e-4)
    assert got_hi == pytest.approx(hi, abs=1e-4)


@pytest.mark.parametrize("x,p", [(7, 0.1152), (8, 0.0486), (9, 0.0177)])
def test_primary_exact_binomial_p_values(x, p):
    assert exact_p_greater(x, 28, 0.15) == pytest.approx(p, abs=1e-4)


def test_design_values_from_config_give_the_critical_eight():
    design = endpoint_config()["design"]
    assert (design["h0"], design["n_evaluable"], design["success_min_responders"]) == (0.15, 28, 8)
    assert critical_responders(design["n_evaluable"], design["h0"], design["alpha_one_sided"]) == 8


def _trial(cbor: list[str | None]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ADSL of len(cbor) EFFFL subjects + ADRS CBOR/BOR/CB/CB24 rows (None = no ADRS record)."""
    ids = [f"S{i:02d}" for i in range(len(cbor))]
    adsl = pl.DataFrame({"USUBJID": ids, "EFFFL": ["Y"] * len(ids), "ITTFL": ["Y"] * len(ids)})
    rows = []
    for sid, resp in zip(ids, cbor):
        if resp is None:
            continue
        rows += [(sid, "CBOR", resp), (sid, "BOR", resp), (sid, "CB", "Y" if resp in ("CR", "PR", "SD") else "N"),
                 (sid, "CB24", "Y" if resp in ("CR", "PR") else "N")]
    return adsl, pl.DataFrame(rows, schema=["USUBJID", "PARAMCD", "AVALC"], orient="row")


def test_orr_keeps_missing_subjects_in_the_denominator_and_decides():
    adsl, adrs = _trial(["PR"] * 7 + ["CR"] + ["SD"] * 10 + ["PD"] * 8 + ["NE"] + [None])
    ep = binary_endpoints(adrs, adsl, populations=["EFFFL", "ITTFL"], h0=0.15, alpha=0.05)
    orr = ep.filter((pl.col("ENDPOINT") == "ORR") & (pl.col("POPULATION") == "EFFFL")).row(0, named=True)
    assert (orr["N"], orr["n_subj"]) == (28, 8)
    assert orr["PCT"] == pytest.approx(100 * 8 / 28)
    assert (orr["CI_LO"], orr["CI_HI"]) == (pytest.approx(0.1322, abs=1e-4), pytest.approx(0.4867, abs=1e-4))
    assert orr["P_VALUE"] == pytest.approx(0.0486, abs=1e-4) and orr["H0"] == 0.15
    dcr = ep.filter(pl.col("ENDPOINT") == "DCR").row(0, named=True)
    assert (dcr["N"], dcr["n_subj"], dcr["P_VALUE"]) == (28, 18, None)
    assert ep.filter(pl.col("ENDPOINT") != "ORR")["POPULATION"].to_list() == ["EFFFL"] * 3
    decision = primary_decision(ep, population_flag="EFFFL", h0=0.15, alpha_one_sided=0.05, n_planned=28, success_min_planned=8)
    assert decision.row(0, named=True)["SUCCESS"] is True and decision["CRIT_RESP"][0] == 8


def test_seven_responders_do_not_meet_the_primary_hypothesis():
    adsl, adrs = _trial(["PR"] * 7 + ["SD"] * 21)
    ep = binary_endpoints(adrs, adsl, populations=["EFFFL"], h0=0.15, alpha=0.05)
    decision = primary_decision(ep, population_flag="EFFFL", h0=0.15, alpha_one_sided=0.05, n_planned=28, success_min_planned=8)
    assert decision["P_VALUE"][0] == pytest.approx(0.1152, abs=1e-4)
    assert decision["SUCCESS"][0] is False


def test_response_distribution_counts_subjects_without_record_as_missing():
    adsl, adrs = _trial(["PR", "PR", "SD", "PD", "NE", None, None])
    dist = response_distribution(adrs, adsl, populations=["EFFFL"]).filter(pl.col("PARAMCD") == "CBOR")
    assert dist["AVALC"].to_list() == ["CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE", "MISSING"]
    assert dist["n_subj"].to_list() == [0, 2, 1, 0, 1, 1, 2]
    assert set(dist["N"].to_list()) == {7}
    assert dist["PCT"].sum() == pytest.approx(100.0)
