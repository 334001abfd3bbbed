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


# --------------------------------------------------------------------------------------------
# efficacy: ADRS / ADTTE / ADTR (adam.md §5-§7) against the generator's truth


def _efficacy_subjects(db) -> dict[str, str]:
    """SUBJID -> USUBJID of the EFFFL subjects."""
    return dict(query(db, "SELECT SUBJID, USUBJID FROM adam.adsl WHERE EFFFL = 'Y'").iter_rows())


def _param(db, paramcd: str, cols: str = "USUBJID, AVALC") -> dict:
    rows = query(db, f"SELECT {cols} FROM adam.adrs WHERE PARAMCD = '{paramcd}'").rows()
    return {r[0]: r[1:] if len(r) > 2 else r[1] for r in rows}


def _agreement(exports, loaded, paramcd: str, truth_col: str) -> tuple[int, list]:
    truth = _truth(exports["clean"])
    db = loaded["clean"]
    got = _param(db, paramcd)
    eff = _efficacy_subjects(db)
    mismatches = [(s, truth[s][truth_col], got.get(u)) for s, u in eff.items() if got.get(u) != truth[s][truth_col]]
    return len(eff), mismatches


def test_adrs_has_ovr_records_and_one_row_per_subject_and_parameter(loaded):
    db = loaded["clean"]
    n_ovr = query(db, "SELECT count(*) AS n FROM sdtm.rs WHERE RSTESTCD = 'OVRLRESP' AND RSEVAL = 'INVESTIGATOR'")["n"][0]
    assert query(db, "SELECT count(*) AS n FROM adam.adrs WHERE PARAMCD = 'OVR'")["n"][0] == n_ovr > 0
    n_adsl = query(db, "SELECT count(*) AS n FROM adam.adsl")["n"][0]
    per = query(db, "SELECT PARAMCD, count(*) AS n, count(DISTINCT USUBJID) AS s FROM adam.adrs WHERE PARAMCD <> 'OVR' GROUP BY PARAMCD")
    assert set(per["PARAMCD"]) >= {"BOR", "CBOR", "CRSP", "RSP", "PD", "CB", "CB24", "LSTA"}
    assert (per["n"] == n_adsl).all() and (per["s"] == n_adsl).all()


def test_bor_agrees_with_the_simulated_trial(exports, loaded):
    n, mismatches = _agreement(exports, loaded, "BOR", "bor")
    print(f"BOR agreement: {n - len(mismatches)}/{n} EFFFL subjects; mismatches {mismatches}")
    assert n > 0 and not mismatches


def test_cbor_agrees_with_the_simulated_trial(exports, loaded):
    n, mismatches = _agreement(exports, loaded, "CBOR", "cbor")
    print(f"CBOR agreement: {n - len(mismatches)}/{n} EFFFL subjects; mismatches {mismatches}")
    assert n > 0 and not mismatches


def _tte(db, paramcd: str) -> dict:
    rows = query(db, f"""SELECT s.SUBJID, CAST(t.ADT AS VARCHAR), t.CNSR FROM adam.adtte t
                         JOIN adam.adsl s USING (USUBJID) WHERE t.PARAMCD = '{paramcd}'""").rows()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_os_agrees_with_the_simulated_trial(exports, loaded):
    from pipeline.config import data_cutoff

    dco = data_cutoff().isoformat()
    truth = _truth(exports["clean"])
    os_ = _tte(loaded["clean"], "OS")
    assert os_
    for subjid, (adt, cnsr) in os_.items():
        death = truth[subjid]["death_date"]
        if death and death <= dco:
            assert (cnsr, adt) == (0, death), subjid
        else:
            assert cnsr != 0, subjid
    print(f"OS agreement: {len(os_)}/{len(os_)} subjects")


def test_pfs_events_agree_with_the_simulated_trial(exports, loaded):
    truth = _truth(exports["clean"])
    pfs = _tte(loaded["clean"], "PFS")
    checked = 0
    for subjid, (adt, cnsr) in pfs.items():
        t = truth[subjid]
        dates = [d for d in (t["first_pd_date"], t["death_date"]) if d]
        if dates and cnsr == 0:
            assert adt == min(dates), subjid
            checked += 1
    print(f"PFS agreement: {checked} events checked against min(first_pd_date, death_date)")
    assert checked > 0


def test_adtte_structure(loaded):
    db = loaded["clean"]
    t = query(db, "SELECT USUBJID, PARAMCD, AVAL, CNSR FROM adam.adtte")
    assert set(t["PARAMCD"]) == {"PFS", "PFSNC", "OS", "DOR", "TTR"}
    assert t["AVAL"].null_count() == 0 and t["AVAL"].min() > 0
    assert t["CNSR"].null_count() == 0 and t["CNSR"].min() >= 0
    assert t.select("USUBJID", "PARAMCD").n_unique() == t.height


def test_adtr_is_published(loaded):
    db = loaded["clean"]
    tr = query(db, "SELECT USUBJID, PARAMCD, ABLFL FROM adam.adtr")
    assert tr.height > 0 and set(tr["PARAMCD"]) == {"SDIAM"}
    assert tr.filter(tr["ABLFL"] == "Y").select("USUBJID").n_unique() == tr.filter(tr["ABLFL"] == "Y").height
