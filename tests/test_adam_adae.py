"""ADAE derivations: worked examples of adam.md §1 (DTHDT) and §2."""

from datetime import date

import polars as pl

from pipeline.adam.adae import (
    derive_action_flags,
    derive_adae,
    derive_ae_dates,
    derive_arel,
    derive_asev,
    derive_atoxgr,
    derive_trtemfl,
    merge_suppae,
)
from pipeline.adam.dates import derive_dthdt, derive_nactdt, derive_vars_dt, study_day

TRTSDT = date(2022, 1, 10)
TRTEDT = date(2022, 4, 5)


def _dates(astdtc, aeendtc=None, dthdt=None, eosdt=None):
    n = len(astdtc)
    df = pl.DataFrame(
        {
            "AESTDTC": astdtc,
            "AEENDTC": aeendtc or [None] * n,
            "TRTSDT": [TRTSDT] * n,
            "DTHDT": [dthdt] * n,
            "EOSDT": [eosdt] * n,
        },
        schema={"AESTDTC": pl.Utf8, "AEENDTC": pl.Utf8, "TRTSDT": pl.Date, "DTHDT": pl.Date, "EOSDT": pl.Date},
    )
    return derive_ae_dates(df)


def test_astdt_imputation_examples():
    out = _dates(["2022-01", "2022-02", "2022", "2021-12", "2022-01-15", None, "--01-15"])
    assert out["ASTDT"].to_list() == [
        date(2022, 1, 10),
        date(2022, 2, 1),
        date(2022, 1, 10),
        date(2021, 12, 1),
        date(2022, 1, 15),
        None,
        None,  # year missing -> null (highest imputation M)
    ]
    assert out["ASTDTF"].to_list() == ["D", "D", "M", "D", None, None, None]
    assert out["ASTDY"].to_list()[:5] == [1, 23, 1, -40, 6]


def test_aendt_imputation_examples():
    out = _dates(["2022-01-20"], ["2022-03"])
    assert out["AENDT"].to_list() == [date(2022, 3, 31)]
    assert out["AENDTF"].to_list() == ["D"]
    out = _dates(["2022-01-20"], ["2022-03"], dthdt=date(2022, 3, 20))
    assert out["AENDT"].to_list() == [date(2022, 3, 20)]
    assert out["AENDTF"].to_list() == ["D"]
    # a max date outside the partial range is ignored; EOSDT also caps
    out = _dates(["2022-01-20", "2022-01-20"], ["2022-03", "2022"], eosdt=date(2022, 6, 30))
    assert out["AENDT"].to_list() == [date(2022, 3, 31), date(2022, 6, 30)]
    assert out["AENDTF"].to_list() == ["D", "M"]
    assert out["ADURN"].to_list() == [71, 162]


def test_dthdt_imputation_example():
    df = pl.DataFrame(
        {
            "DTHDTC": ["2022-11", "2022", "2022-09-15", None, "2022-11"],
            "LSTALVDT": [date(2022, 11, 12), date(2022, 3, 1), date(2022, 9, 1), date(2022, 1, 1), date(2022, 10, 1)],
        }
    )
    out = derive_dthdt(df)
    assert out.columns == ["DTHDTC", "LSTALVDT", "DTHDT", "DTHDTF"]
    # LSTALVDT inside the month / year raises the first possible day to it; one before the
    # reported month (the last row) does not move the death out of it
    assert out["DTHDT"].to_list() == [date(2022, 11, 12), date(2022, 3, 1), date(2022, 9, 15), None, date(2022, 11, 1)]
    assert out["DTHDTF"].to_list() == ["D", "M", None, None, "D"]
    # an existing DTHDT column is replaced in place
    assert derive_dthdt(df.select(pl.lit(None, pl.Date).alias("DTHDT"), pl.all())).columns == ["DTHDT", "DTHDTC", "LSTALVDT", "DTHDTF"]


def test_nactdt_not_before_trtedt_plus_one():
    # one record per subject: each record's imputed start (TRTEDT 2022-04-05)
    one = pl.DataFrame({"USUBJID": ["A", "B", "C", "D"], "STDTC": ["2022-04", "2022-05", "2022-04-20", "2022-03"]})
    adsl_one = pl.DataFrame({"USUBJID": ["A", "B", "C", "D"], "TRTEDT": [TRTEDT] * 4})
    out = derive_nactdt(one, adsl_one)["NACTDT"].to_list()
    # "2022-03" ends before TRTEDT + 1: the floor is outside its range and not applied
    assert out == [date(2022, 4, 6), date(2022, 5, 1), date(2022, 4, 20), date(2022, 3, 1)]
    adsl = pl.DataFrame({"USUBJID": ["S1", "S2"], "TRTEDT": [TRTEDT, TRTEDT]})
    starts = pl.DataFrame({"USUBJID": ["S1", "S1"], "STDTC": ["2022-06-15", "2022-04"]})
    res = derive_nactdt(starts, adsl)
    assert res["NACTDT"].to_list() == [date(2022, 4, 6), None]


def test_derive_vars_dt_and_study_day():
    df = pl.DataFrame({"DTC": ["2022-01"], "TRTSDT": [TRTSDT]})
    out = derive_vars_dt(df, "AST", "DTC", min_dates="TRTSDT", highest_imputation="D")
    assert out["ASTDT"].to_list() == [date(2022, 1, 10)] and out["ASTDTF"].to_list() == ["D"]
    out = derive_vars_dt(pl.DataFrame({"DTC": ["2022"]}), "AST", "DTC", highest_imputation="D")
    assert out["ASTDT"].to_list() == [None] and out["ASTDTF"].to_list() == [None]
    sd = pl.DataFrame({"D": [date(2022, 1, 9), date(2022, 1, 10), date(2022, 1, 11)], "TRTSDT": [TRTSDT] * 3})
    assert sd.select(study_day("D"))["D"].to_list() == [-1, 1, 2]


# adam.md §2 worked example table
AE_ROWS = [
    # AESEQ, AEDECOD, AEBODSYS, AESTDTC, AEENDTC, AETOXGR
    (1, "Fatigue", "General disorders and administration site conditions", "2021-12-28", "2022-01-05", "2"),
    (2, "Nausea", "Gastrointestinal disorders", "2022-01-11", "2022-01-14", "1"),
    (3, "Neutrophil count decreased", "Investigations", "2022-01-20", "2022-01-27", "3"),
    (4, "Alopecia", "Skin and subcutaneous tissue disorders", "2022-01", None, "1"),
    (5, "Nausea", "Gastrointestinal disorders", "2022-02-01", "2022-02-03", "2"),
    (6, "Neutrophil count decreased", "Investigations", "2022-02-10", "2022-02-17", "4"),
    (7, "Vomiting", "Gastrointestinal disorders", "2022-05-20", "2022-05-21", "1"),
]


def _example_adae(**kw):
    ae = pl.DataFrame(
        [
            {
                "STUDYID": "ST",
                "USUBJID": "S1",
                "AESEQ": seq,
                "AEDECOD": dec,
                "AEBODSYS": soc,
                "AESTDTC": st,
                "AEENDTC": en,
                "AETOXGR": gr,
                "AESER": "N",
                "AEREL": "POSSIBLY RELATED" if seq in (2, 5) else "NOT RELATED",
                "AEACN": "MULTIPLE" if seq == 6 else "DOSE NOT CHANGED",
            }
            for seq, dec, soc, st, en, gr in AE_ROWS
        ]
    )
    adsl = pl.DataFrame(
        {"USUBJID": ["S1"], "TRTSDT": [TRTSDT], "TRTEDT": [TRTEDT], "DTHDT": [None], "EOSDT": [None]},
        schema={"USUBJID": pl.Utf8, "TRTSDT": pl.Date, "TRTEDT": pl.Date, "DTHDT": pl.Date, "EOSDT": pl.Date},
    )
    supp = pl.DataFrame(
        {
            "STUDYID": ["ST"] * 3,
            "RDOMAIN": ["AE"] * 3,
            "USUBJID": ["S1"] * 3,
            "IDVAR": ["AESEQ"] * 3,
            "IDVARVAL": ["6", "6", "5"],
            "QNAM": ["AEACNEPI", "AEACNTMZ", "AERELTMZ"],
            "QVAL": ["DRUG WITHDRAWN", "DRUG INTERRUPTED", "PROBABLY RELATED"],
        }
    )
    return derive_adae(ae, adsl, supp, **kw)


def test_teae_example_table():
    out = _example_adae()
    assert out["AESEQ"].to_list() == [1, 2, 3, 4, 5, 6, 7]
    assert out["ASTDT"][3] == date(2022, 1, 10) and out["ASTDTF"][3] == "D"
    assert out["TRTEMFL"].to_list() == [None, "Y", "Y", "Y", "Y", "Y", None]
    assert out["AOCCFL"].to_list() == [None, None, None, None, None, "Y", None]
    assert out["AOCCPFL"].to_list() == [None, None, None, "Y", "Y", "Y", None]
    assert out["AOCCSFL"].to_list() == [None, None, None, "Y", "Y", "Y", None]
    assert out["ATOXGRN"].to_list() == [2, 1, 3, 1, 2, 4, 1]
    assert out["ASEV"].to_list() == ["MODERATE", "MILD", "SEVERE", "MILD", "MODERATE", "SEVERE", "MILD"]
    assert out["ASEVN"].to_list() == [2, 1, 3, 1, 2, 3, 1]
    # subject counts: any TEAE worst grade 4; Nausea worst 2; GI SOC worst 2
    teae = out.filter(pl.col("TRTEMFL") == "Y")
    assert teae.filter(pl.col("AOCCFL") == "Y")["ATOXGRN"].to_list() == [4]
    assert teae.filter((pl.col("AOCCPFL") == "Y") & (pl.col("AEDECOD") == "Nausea"))["ATOXGRN"].to_list() == [2]
    assert teae.filter((pl.col("AOCCSFL") == "Y") & (pl.col("AEBODSYS") == "Gastrointestinal disorders"))["ATOXGRN"].to_list() == [2]
    assert teae["USUBJID"].n_unique() == 1
    # relatedness and actions via SUPPAE
    assert out["AREL"].to_list() == ["NOT RELATED", "RELATED", "NOT RELATED", "NOT RELATED", "RELATED", "NOT RELATED", "NOT RELATED"]
    assert out["ARELTMZ"][4] == "RELATED" and out["ARELEPI"][4] == "NOT RELATED"
    assert out["AEDISCFL"].to_list() == [None] * 5 + ["Y", None]
    assert out["AEINTFL"].to_list() == [None] * 5 + ["Y", None]
    assert out["AEREDFL"].to_list() == [None] * 7
    assert out["ASER"].to_list() == ["N"] * 7


def test_teae_window_is_configurable():
    out = _example_adae(teae_window_days=60)
    assert out["TRTEMFL"][6] == "Y"  # 2022-05-20 <= 2022-04-05 + 60


def test_trtemfl_cases():
    df = pl.DataFrame(
        {
            "TRTSDT": [None, TRTSDT, TRTSDT, TRTSDT, TRTSDT, TRTSDT],
            "TRTEDT": [None, TRTEDT, TRTEDT, TRTEDT, TRTEDT, TRTEDT],
            "ASTDT": [date(2022, 2, 1), date(2021, 12, 1), None, date(2022, 5, 5), date(2022, 5, 6), date(2022, 1, 9)],
            "AENDT": [None, date(2022, 1, 9), None, None, None, date(2022, 1, 12)],
        },
        schema={"TRTSDT": pl.Date, "TRTEDT": pl.Date, "ASTDT": pl.Date, "AENDT": pl.Date},
    )
    out = derive_trtemfl(df, end_window=30)
    assert out["TRTEMFL"].to_list() == [None, None, "Y", "Y", None, None]


def test_grade_severity_relation_action_helpers():
    df = pl.DataFrame(
        {
            "AETOXGR": ["1", "2", "3", "4", "5", "G7", None],
            "AEREL": ["NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED", None, "x"],
            "AEACN": ["DRUG WITHDRAWN", "DOSE REDUCED", "DRUG INTERRUPTED", "MULTIPLE", None, "DOSE NOT CHANGED", None],
            "AEACNEPI": [None, None, None, "DOSE REDUCED", None, None, None],
        }
    )
    out = derive_action_flags(derive_arel(derive_asev(derive_atoxgr(df))))
    assert out["ATOXGRN"].to_list() == [1, 2, 3, 4, 5, None, None]
    assert out["ATOXGR"].to_list() == ["1", "2", "3", "4", "5", None, None]
    assert out["ASEVN"].to_list() == [1, 2, 3, 3, 3, None, None]
    assert out["AREL"].to_list() == ["NOT RELATED", "NOT RELATED", "RELATED", "RELATED", "RELATED", "NOT RELATED", "NOT RELATED"]
    assert out["ARELEPI"].to_list() == [None] * 7  # no SUPPAE column
    assert out["AEDISCFL"].to_list() == ["Y", None, None, None, None, None, None]
    assert out["AEREDFL"].to_list() == [None, "Y", None, "Y", None, None, None]
    assert out["AEINTFL"].to_list() == [None, None, "Y", None, None, None, None]


def test_merge_suppae_without_supp():
    ae = pl.DataFrame({"USUBJID": ["S1"], "AESEQ": [1]})
    out = merge_suppae(ae, None)
    assert set(["AERELEPI", "AERELTMZ", "AEACNEPI", "AEACNTMZ"]) <= set(out.columns)


def test_malformed_and_year_imputation():
    df = pl.DataFrame({"DTC": ["2022-13", "2022-1", "2022-01-32", "2022-02-30", "bad", "--01-15"], "TRTSDT": [TRTSDT] * 6})
    out = derive_vars_dt(df, "AST", "DTC", min_dates="TRTSDT")  # highest imputation M (config)
    assert out["ASTDT"].to_list() == [None] * 6 and out["ASTDTF"].to_list() == [None] * 6
    out = derive_vars_dt(df, "AST", "DTC", min_dates="TRTSDT", highest_imputation="Y")
    assert out["ASTDT"].to_list() == [None] * 5 + [TRTSDT] and out["ASTDTF"][5] == "Y"
