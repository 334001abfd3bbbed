"""ADaM in the nightly graph: datasets from our SDTM, checked against the generator's truth."""

import csv

from tests.conftest import query


def _truth(export) -> dict[str, dict]:
    with open(export / "_groundtruth" / "subjects.csv", encoding="utf-8") as fh:
        return {row["SUBJID"]: row for row in csv.DictReader(fh)}


def test_adam_datasets_are_published(loaded):
    db = loaded["clean"]
    n_dm = query(db, "SELECT count(*) AS n FROM sdtm.dm")["n"][0]
    adsl = query(db, "SELECT * FROM adam.adsl")
    assert adsl.height == adsl["USUBJID"].n_unique() == n_dm
    for name, sdtm in (("adae", "ae"), ("adlb", "lb")):
        assert query(db, f"SELECT count(*) AS n FROM adam.{name}")["n"][0] == query(db, f"SELECT count(*) AS n FROM sdtm.{sdtm}")["n"][0]


def test_populations_agree_with_the_simulated_trial(exports, loaded):
    """SAFFL = the subjects the generator dosed; EFFFL = dosed with measurable disease (trial.md §7)."""
    truth = _truth(exports["clean"])
    adsl = query(loaded["clean"], "SELECT SUBJID, SAFFL, EFFFL, ITTFL FROM adam.adsl")
    assert adsl.height == len(truth)
    for subjid, saffl, efffl, ittfl in adsl.iter_rows():
        t = truth[subjid]
        assert ittfl == ("Y" if t["enrolled"] == "Y" else "N"), subjid
        assert saffl == ("Y" if t["dosed"] == "Y" else "N"), subjid
        assert efffl == ("Y" if t["dosed"] == "Y" and t["measurable"] == "Y" else "N"), subjid


def test_first_dose_date_agrees_with_the_simulated_trial(exports, loaded):
    truth = _truth(exports["clean"])
    adsl = query(loaded["clean"], "SELECT SUBJID, CAST(TRTSDT AS VARCHAR) AS TRTSDT FROM adam.adsl")
    for subjid, trtsdt in adsl.iter_rows():
        assert trtsdt == (truth[subjid]["first_dose_date"] or None), subjid


def test_teae_flag_follows_the_window(loaded):
    """TRTEMFL = Y exactly when TRTSDT <= ASTDT <= TRTEDT + 30 (or ASTDT unknown), recounted in SQL."""
    db = loaded["clean"]
    recount = query(db, """
        SELECT count(*) AS n FROM adam.adae e JOIN adam.adsl s USING (USUBJID)
        WHERE s.TRTSDT IS NOT NULL AND NOT (e.AENDT IS NOT NULL AND e.AENDT < s.TRTSDT)
          AND (e.ASTDT IS NULL OR e.ASTDT BETWEEN s.TRTSDT AND s.TRTEDT + 30)""")["n"][0]
    flagged = query(db, "SELECT count(*) AS n FROM adam.adae WHERE TRTEMFL = 'Y'")["n"][0]
    assert flagged == recount > 0


def test_adex_has_one_dose_record_per_ex_record_and_subject_parameters(loaded):
    db = loaded["clean"]
    doses = query(db, "SELECT count(*) AS n FROM adam.adex WHERE PARAMCD = 'DOSE'")["n"][0]
    assert doses == query(db, "SELECT count(*) AS n FROM sdtm.ex")["n"][0]
    rdi = query(db, "SELECT USUBJID, EXTRT, AVAL FROM adam.adex WHERE PARAMCD = 'RDI'")
    dosed_pairs = query(db, "SELECT count(*) AS n FROM (SELECT DISTINCT USUBJID, EXTRT FROM sdtm.ex)")["n"][0]
    assert rdi.height == dosed_pairs
    assert rdi["AVAL"].min() > 0 and rdi["AVAL"].max() <= 110
