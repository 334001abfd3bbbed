"""Validation of single forms: normalisation, Pandera models, edit checks, quarantine (crf.md §3-6)."""

from datetime import date

import polars as pl
import pytest

from pipeline.validation.form_validation import ValidationContext, validate_form
from tests.crf_rows import raw_frame

CTX = ValidationContext(date(2023, 8, 27))
DM_OK = dict(VISIT="SCREENING", ICDAT="2022-01-01", ENRDAT="2022-01-05", SCRFAIL="N", AGE="54", SEX="F",
             RACE="ASIAN", HEIGHT="170", WEIGHT="61")
AE_OK = dict(VISIT="AELOG", AESPID="1", AETERM="nausea", AESTDAT="2022-03-05", AEENDAT="2022-03-09", AEONGO="N",
             AETOXGR="2", AESER="N", AERELEPI="POSSIBLY RELATED", AERELTMZ="NOT RELATED",
             AEACNEPI="DOSE NOT CHANGED", AEACNTMZ="DOSE NOT CHANGED", AEOUT="RECOVERED/RESOLVED",
             AEDECOD="Nausea", AEBODSYS="Gastrointestinal disorders")


def rules_by_row(result) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for rule, row in result.findings.select("RULE_ID", "SRC_ROW").iter_rows():
        out.setdefault(row, set()).add(rule)
    return out


def test_dm_normalises_chinese_codes_units_and_padding():
    raw = raw_frame("DM", [{**DM_OK, "SUBJID": "1", "SCRFAIL": "否", "SEX": "女", "HEIGHT": "1.70", "WEIGHT": "61kg"}])
    result = validate_form("DM", raw, CTX)
    assert result.findings.is_empty()
    row = result.accepted.row(0, named=True)
    assert (row["SUBJID"], row["SCRFAIL"], row["SEX"], row["HEIGHT"], row["WEIGHT"]) == ("001", "N", "F", 170.0, 61.0)
    assert (row["SRC_FILE"], row["SRC_ROW"]) == ("DM.csv", 1)


def test_impossible_date_quarantines_row_and_exact_copy_is_set_aside():
    bad = {**DM_OK, "SUBJID": "002", "ICDAT": "2022-02-30"}
    raw = raw_frame("DM", [{**DM_OK, "SUBJID": "001"}, bad, bad])
    result = validate_form("DM", raw, CTX)
    assert result.accepted["SUBJID"].to_list() == ["001"]
    assert result.quarantine["SRC_ROW"].to_list() == [2, 3]
    reasons = result.quarantine["QUARANTINE_REASON"].to_list()
    assert reasons[0].startswith("DAT01") and reasons[1] == "DUP01 exact duplicate of row 2"
    assert rules_by_row(result) == {2: {"DAT01"}, 3: {"DUP01"}}
    finding = result.findings.filter(pl.col("RULE_ID") == "DAT01").row(0, named=True)
    assert (finding["FIELD"], finding["RAW_VALUE"], finding["SEVERITY"], finding["SRC_FILE"]) == (
        "ICDAT", "2022-02-30", "ERROR", "DM.csv")


def test_conflicting_reentry_keeps_latest_lastmod():
    raw = raw_frame("DM", [
        {**DM_OK, "SUBJID": "001", "WEIGHT": "62", "LASTMOD": "2022-01-06T10:00:00"},
        {**DM_OK, "SUBJID": "001", "WEIGHT": "61", "LASTMOD": "2022-01-05T10:00:00"},
    ])
    result = validate_form("DM", raw, CTX)
    assert result.accepted["WEIGHT"].to_list() == [62.0]
    assert result.quarantine["SRC_ROW"].to_list() == [2]
    dup = result.findings.row(0, named=True)
    assert (dup["RULE_ID"], dup["FIELD"], dup["RAW_VALUE"], dup["SRC_ROW"]) == ("DUP02", "WEIGHT", "61", 2)


def test_ae_edit_checks():
    ctx = ValidationContext(date(2023, 8, 27), frozenset({"001"}))
    raw = raw_frame("AE", [
        {**AE_OK, "SUBJID": "1", "AETERM": "恶心", "AESTDAT": "2022-03-UN", "AEENDAT": None, "AEONGO": "Y",
         "AETOXGR": "G3", "AERELEPI": "可能有关", "IGREP": "1"},
        {**AE_OK, "SUBJID": "009", "AETERM": "nausia", "AEDECOD": None, "AESTDAT": "2022-03-05",
         "AEENDAT": "2022-03-01", "AETOXGR": "7", "AESER": "Y", "IGREP": "2"},
        {**AE_OK, "SUBJID": "001", "AETOXGR": "5", "AEOUT": "RECOVERED/RESOLVED", "AEONGO": "Y", "IGREP": "3"},
    ])
    result = validate_form("AE", raw, ctx)
    first = result.accepted.filter(pl.col("SRC_ROW") == 1).row(0, named=True)
    assert (first["SUBJID"], first["AESTDAT"], first["AETOXGR"], first["AERELEPI"]) == ("001", "2022-03", "3", "POSSIBLY RELATED")
    assert rules_by_row(result) == {2: {"KEY01", "COD01", "DAT02", "AE01", "AE02"}, 3: {"AE02", "AE03"}}
    assert result.quarantine["SRC_ROW"].to_list() == [2]
    assert result.accepted.height + result.quarantine.height == 3


def test_lab_units_comparators_and_ranges():
    lb = dict(VISIT="CYCLE 1 DAY 1", LBDAT="2022-01-10", LBCAT="HEMATOLOGY")
    raw = raw_frame("LB", [
        {**lb, "SUBJID": "001", "IGREP": "1", "LBTEST": "血红蛋白", "LBORRES": "12,5", "LBORRESU": "g/dL", "LBORNRLO": "11.5", "LBORNRHI": "15"},
        {**lb, "SUBJID": "001", "IGREP": "2", "LBTEST": "NEUT", "LBORRES": "<0.5", "LBORRESU": "10^9/L", "LBORNRLO": "1.8", "LBORNRHI": "6.3"},
        {**lb, "SUBJID": "001", "IGREP": "3", "LBTEST": "PLT", "LBORRES": "150", "LBORRESU": "mg%", "LBORNRLO": "125", "LBORNRHI": "350"},
        {**lb, "SUBJID": "001", "IGREP": "4", "LBTEST": "WBC", "LBORRES": "4.1", "LBORRESU": "10^9/L"},
        {**lb, "SUBJID": "001", "IGREP": "5", "LBTEST": "NEUT", "LBORRES": "150", "LBORRESU": "10^9/L", "LBORNRLO": "1.8", "LBORNRHI": "6.3"},
        {**lb, "SUBJID": "001", "IGREP": "6", "LBTEST": "ALT", "LBORRES": "未做"},
    ])
    result = validate_form("LB", raw, CTX)
    acc = {r["IGREP"]: r for r in result.accepted.iter_rows(named=True)}
    assert (acc[1]["LBTEST"], acc[1]["LBSTRESN"], acc[1]["LBSTRESU"], acc[1]["LBSTNRLO"]) == ("HGB", 125.0, "g/L", 115.0)
    assert (acc[2]["LBSTRESC"], acc[2]["LBSTRESN"]) == ("<0.5", None)
    assert acc[6]["LBSTAT"] == "NOT DONE"
    assert rules_by_row(result) == {3: {"LB01"}, 4: {"LB02"}, 5: {"LB01"}}
    assert sorted(result.findings.filter(pl.col("RULE_ID") == "LB02")["FIELD"].to_list()) == ["LBORNRHI", "LBORNRLO"]
    assert sorted(result.quarantine["SRC_ROW"].to_list()) == [3, 5]


def test_target_lesion_measurability_and_new_ids():
    tl = dict(TULOC="LUNG", NODE="N", TRMETHOD="CT SCAN", TRDIAMC="MEASURED", SUBJID="001")
    raw = raw_frame("TL", [
        {**tl, "VISIT": "SCREENING", "LESID": "T01", "TRDAT": "2022-01-01", "TRDIAM": "1.2cm"},
        {**tl, "VISIT": "SCREENING", "LESID": "T02", "TRDAT": "2022-01-01", "TRDIAM": "8", "IGREP": "2"},
        {**tl, "VISIT": "TUMOUR ASSESSMENT WEEK 6", "LESID": "T01", "TRDAT": "2022-02-20", "TRDIAM": "10"},
        {**tl, "VISIT": "TUMOUR ASSESSMENT WEEK 6", "LESID": "T03", "TRDAT": "2022-02-20", "TRDIAM": "10", "IGREP": "2"},
    ])
    result = validate_form("TL", raw, CTX)
    assert rules_by_row(result) == {2: {"TU01"}, 4: {"TU02"}}
    assert result.accepted.filter(pl.col("SRC_ROW") == 1)["TRDIAM"].to_list() == [12.0]
    assert result.quarantine["SRC_ROW"].to_list() == [4]


@pytest.mark.parametrize("raw_value,rule", [("3/4/2022", "DAT01"), ("44625", "DAT05"), ("2022-13-01", "DAT01")])
def test_date_rules(raw_value, rule):
    result = validate_form("DM", raw_frame("DM", [{**DM_OK, "SUBJID": "001", "ICDAT": raw_value}]), CTX)
    assert result.findings["RULE_ID"].to_list() == [rule]
    if rule == "DAT05":
        assert result.accepted["ICDAT"].to_list() == ["2022-03-05"]
