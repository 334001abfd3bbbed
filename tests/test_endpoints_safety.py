"""Safety tables: the N = 5 example of endpoints.md §3, and lab / exposure on hand-built data."""

import polars as pl
import pytest

from pipeline.endpoints.exposure import exposure_summary
from pipeline.endpoints.inputs import frames_connection
from pipeline.endpoints.lab import lab_summaries
from pipeline.endpoints.safety import teae_overview, teae_soc_pt

INV, GI, SKIN, BLOOD, GEN = ("Investigations", "Gastrointestinal disorders", "Skin and subcutaneous tissue disorders",
                             "Blood and lymphatic system disorders", "General disorders and administration site conditions")
NEUT = "Neutrophil count decreased"
# USUBJID, SOC, PT, grade, serious, related, discontinued
EXAMPLE = [
    ("S1", GI, "Nausea", 1, "N", "NOT RELATED", None), ("S1", GI, "Nausea", 2, "N", "NOT RELATED", None),
    ("S1", INV, NEUT, 4, "N", "NOT RELATED", None), ("S1", SKIN, "Alopecia", 1, "N", "NOT RELATED", None),
    ("S2", GI, "Nausea", 3, "Y", "NOT RELATED", None), ("S2", INV, NEUT, 3, "N", "NOT RELATED", None),
    ("S3", GEN, "Fatigue", 2, "N", "RELATED", None), ("S3", BLOOD, "Febrile neutropenia", 3, "Y", "NOT RELATED", "Y"),
    ("S5", SKIN, "Alopecia", 2, "N", "NOT RELATED", None), ("S5", INV, NEUT, 2, "N", "NOT RELATED", None),
]
ADSL = pl.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4", "S5"], "SAFFL": ["Y"] * 5})
ADAE = pl.DataFrame(EXAMPLE, schema=["USUBJID", "AEBODSYS", "AEDECOD", "ATOXGRN", "ASER", "AREL", "AEDISCFL"], orient="row").with_columns(
    pl.lit("Y").alias("TRTEMFL"), pl.lit("RECOVERED/RESOLVED").alias("AEOUT"), pl.lit(None, pl.String).alias("AEREDFL"),
    pl.lit(None, pl.String).alias("AEINTFL"))

# SOC / PT, any, G1..G5, >=G3 (endpoints.md §3, printed order)
PRINTED = [
    (INV, None, 3, 0, 1, 1, 1, 0, 2), (INV, NEUT, 3, 0, 1, 1, 1, 0, 2),
    (GI, None, 2, 0, 1, 1, 0, 0, 1), (GI, "Nausea", 2, 0, 1, 1, 0, 0, 1),
    (SKIN, None, 2, 1, 1, 0, 0, 0, 0), (SKIN, "Alopecia", 2, 1, 1, 0, 0, 0, 0),
    (BLOOD, None, 1, 0, 0, 1, 0, 0, 1), (BLOOD, "Febrile neutropenia", 1, 0, 0, 1, 0, 0, 1),
    (GEN, None, 1, 0, 1, 0, 0, 0, 0), (GEN, "Fatigue", 1, 0, 1, 0, 0, 0, 0),
]


def test_teae_overview_of_the_example():
    ov = {r["CATEGORY"]: r for r in teae_overview(ADAE, ADSL).iter_rows(named=True)}
    expected = {"Any TEAE": (4, 80.0), "Grade >= 3 TEAE": (3, 60.0), "Serious TEAE": (2, 40.0),
                "TEAE leading to discontinuation of any study drug": (1, 20.0), "Fatal TEAE": (0, 0.0), "Related TEAE": (1, 20.0)}
    for category, (n, p) in expected.items():
        assert (ov[category]["N"], ov[category]["n_subj"], ov[category]["PCT"]) == (5, n, pytest.approx(p)), category
    assert list(ov)[0] == "Any TEAE" and list(ov)[-1] == "Fatal TEAE"


def test_teae_overview_is_null_when_the_data_cannot_say():
    ungraded = ADAE.drop("AEREDFL").with_columns(pl.lit(None, pl.Int64).alias("ATOXGRN"))
    ov = {r["CATEGORY"]: r for r in teae_overview(ungraded, ADSL).iter_rows(named=True)}
    assert ov["Grade >= 3 TEAE"]["n_subj"] is None and ov["Grade >= 3 TEAE"]["PCT"] is None
    assert ov["TEAE leading to dose reduction"]["n_subj"] is None
    assert ov["Any TEAE"]["n_subj"] == 4


def test_soc_pt_table_exactly_as_printed():
    t = teae_soc_pt(ADAE, ADSL).filter(pl.col("SUBSET") == "ALL")
    got = [tuple(r) for r in t.select("AEBODSYS", "AEDECOD", "n_any", "n_g1", "n_g2", "n_g3", "n_g4", "n_g5", "n_ge3").iter_rows()]
    assert got == PRINTED
    assert t["PCT_any"].to_list()[:2] == [pytest.approx(60.0)] * 2
    assert t["PCT_ge3"].to_list()[-1] == 0.0
    assert t["SORT_SOC"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert t["SORT_PT"].to_list() == [0, 1] * 5


def test_soc_pt_grade3_and_sae_variants():
    t = teae_soc_pt(ADAE, ADSL)
    ge3 = t.filter((pl.col("SUBSET") == "GE3") & pl.col("AEDECOD").is_not_null())
    assert ge3.select("AEDECOD", "n_any").rows() == [(NEUT, 2), ("Febrile neutropenia", 1), ("Nausea", 1)]
    sae = t.filter((pl.col("SUBSET") == "SAE") & pl.col("AEDECOD").is_not_null())
    assert sae.select("AEDECOD", "n_any", "n_g3").rows() == [("Febrile neutropenia", 1, 1), ("Nausea", 1, 1)]


def _lab() -> pl.DataFrame:
    """NEUT of 3 subjects: A baseline grade 0 -> worst 3; B baseline 1 -> worst 4; C no baseline -> worst 2."""
    rows = [  # USUBJID, ONTRTFL, ATOXGRL, BTOXGRL, ANRIND, BNRIND, WNRLOFL, WNRHIFL
        ("A", None, "0", "0", "NORMAL", "NORMAL", None, None), ("A", "Y", "3", "0", "LOW", "NORMAL", "Y", None),
        ("A", "Y", "0", "0", "NORMAL", "NORMAL", None, "Y"),
        ("B", "Y", "4", "1", "LOW", "LOW", "Y", "Y"),
        ("C", "Y", "2", None, "LOW", None, "Y", "Y"),
    ]
    return pl.DataFrame(rows, schema=["USUBJID", "ONTRTFL", "ATOXGRL", "BTOXGRL", "ANRIND", "BNRIND", "WNRLOFL", "WNRHIFL"],
                        orient="row").with_columns(pl.lit("NEUT").alias("PARAMCD"), pl.lit(None, pl.String).alias("ATOXGRH"),
                                                   pl.lit(None, pl.String).alias("BTOXGRH"))


def test_lab_grade_shift_and_worst_grade34():
    adsl = pl.DataFrame({"USUBJID": ["A", "B", "C"], "SAFFL": ["Y"] * 3})
    with frames_connection({"adlb": _lab()}) as con:
        shift = lab_summaries(con, "adlb", adsl, {"LOW": ["NEUT"], "HIGH": ["ALT"]})["ep_lab_shift"]
        worst_table = lab_summaries(con, "adlb", adsl, {"LOW": ["NEUT"]})["ep_lab_worst"]
    grade = shift.filter((pl.col("TABLE") == "CTCAE_GRADE") & (pl.col("n") > 0))
    assert grade.select("DIRECTION", "BASE_CAT", "POST_CAT", "n", "ROW_N").rows() == [
        ("LOW", "0", "3", 1, 1), ("LOW", "1", "4", 1, 1), ("LOW", "MISSING", "2", 1, 1)]
    assert shift.filter(pl.col("TABLE") == "CTCAE_GRADE").height == 6 * 5
    to_low = shift.filter((pl.col("TABLE") == "NORMAL_RANGE") & (pl.col("DIRECTION") == "LOW") & (pl.col("n") > 0))
    assert to_low.select("BASE_CAT", "POST_CAT", "n").rows() == [("LOW", "LOW", 1), ("NORMAL", "LOW", 1), ("MISSING", "LOW", 1)]
    to_high = shift.filter((pl.col("TABLE") == "NORMAL_RANGE") & (pl.col("DIRECTION") == "HIGH") & (pl.col("n") > 0))
    assert to_high.select("BASE_CAT", "POST_CAT", "n").rows() == [("LOW", "LOW", 1), ("NORMAL", "NORMAL", 1), ("MISSING", "LOW", 1)]
    worst = worst_table.row(0, named=True)
    assert (worst["N"], worst["n_subj"], worst["n_g3"], worst["n_g4"]) == (3, 2, 1, 1)


def test_exposure_cycles_rdi_and_missing_sources():
    adsl = pl.DataFrame({"USUBJID": ["A", "B", "C", "D"], "SAFFL": ["Y", "Y", "Y", "N"], "NCYCLE": [6, 2, 4, None],
                         "TRTDURD": [126, 42, 84, None], "EOTSTT": ["COMPLETED", "DISCONTINUED", "DISCONTINUED", None],
                         "DCTREAS": [None, "PROGRESSIVE DISEASE", None, None]})
    adex = pl.DataFrame({"USUBJID": ["A", "B", "C"] * 2, "EXTRT": ["EPIRUBICIN"] * 3 + ["TEMOZOLOMIDE"] * 3,
                         "PARAMCD": ["RDI"] * 6, "AVAL": [95.0, 70.0, 80.0, 60.0, 85.0, 79.9]})
    ex = exposure_summary(adsl, adex, max_cycles=6)
    get = lambda drug, par, stat, cat=None: ex.filter(  # noqa: E731
        (pl.col("DRUG") == drug) & (pl.col("PARAMETER") == par) & (pl.col("STATISTIC") == stat)
        & (pl.col("CATEGORY").is_null() if cat is None else pl.col("CATEGORY") == cat))["VALUE"].to_list()
    assert get("ALL", "CYCLES_STARTED", "MEDIAN") == [4.0]
    assert get("ALL", "CYCLES_STARTED", "n", "6") == [1.0] and get("ALL", "CYCLES_STARTED", "n", "5") == [0.0]
    assert get("ALL", "TREATMENT_DURATION_WEEKS", "MAX") == [18.0]
    assert get("EPIRUBICIN", "RDI_PCT", "MEDIAN") == [80.0]
    assert get("EPIRUBICIN", "RDI_GE_80", "n", "Y") == [2.0] and get("TEMOZOLOMIDE", "RDI_GE_80", "n", "Y") == [1.0]
    assert get("ALL", "RDI_GE_80", "n", "Y") == [3.0]  # any drug
    assert get("ALL", "END_OF_TREATMENT", "n", "PROGRESSIVE DISEASE") == [1.0]
    assert get("ALL", "END_OF_TREATMENT", "n", "DISCONTINUED") == [1.0]  # reason not recorded
    no_cycles = exposure_summary(adsl.with_columns(pl.lit(None, pl.Int64).alias("NCYCLE")), None, max_cycles=6)
    assert "CYCLES_STARTED" not in no_cycles["PARAMETER"].to_list()
