"""Oncology SDTM models TU / SUPPTU / TR / RS (sdtm.md §9, keys §11).

On the published warehouses of the session's synthetic trials (clean and messy CSV), and on a
tiny hand-made staging database whose every expected value can be checked by hand.
"""

from pathlib import Path

import duckdb
import pytest

from tests.conftest import query

KEYS = {
    "tu": "USUBJID, TULNKID, TUEVAL",
    "tr": "USUBJID, coalesce(TRLNKID, TRGRPID), TRTESTCD, VISITNUM, TREVAL",
    "rs": "USUBJID, RSCAT, RSTESTCD, VISITNUM, coalesce(RSEVAL, '')",
    "supptu": "USUBJID, IDVARVAL, QNAM",
}
SEQ = {"tu": "TUSEQ", "tr": "TRSEQ", "rs": "RSSEQ"}


def _in_dm(table: str) -> str:
    return f"SELECT * FROM {table} WHERE STUDYID || '-' || SITEID || '-' || SUBJID IN (SELECT USUBJID FROM sdtm.dm)"


@pytest.mark.parametrize("trial", ["clean", "csv"])
def test_keys_unique_seq_contiguous_and_lineage_last(loaded, trial):
    db = loaded[trial]
    for table, key in KEYS.items():
        dup = query(db, f"SELECT count(*) - count(DISTINCT ({key})) AS d FROM sdtm.{table}").item()
        assert dup == 0, f"{table}: {dup} duplicate keys ({key})"
    for table, seq in SEQ.items():
        bad = query(db, f"""SELECT count(*) AS n FROM (SELECT USUBJID, max({seq}) mx, count(*) n,
                                   count(DISTINCT {seq}) nd, min({seq}) mn FROM sdtm.{table} GROUP BY USUBJID)
                            WHERE mx <> n OR nd <> n OR mn <> 1""").item()
        assert bad == 0, f"{table}: {seq} is not 1..n per subject"
        columns = query(db, f"SELECT * FROM sdtm.{table} LIMIT 0").columns
        assert columns[:3] == ["STUDYID", "DOMAIN", "USUBJID"] and columns[-2:] == ["SRC_FILE", "SRC_ROW"]
        orphans = query(db, f"SELECT count(*) AS n FROM sdtm.{table} WHERE USUBJID NOT IN (SELECT USUBJID FROM sdtm.dm)")
        assert orphans.item() == 0


@pytest.mark.parametrize("trial", ["clean", "csv"])
def test_tu_one_row_per_lesion(loaded, trial):
    db = loaded[trial]
    got = dict(query(db, "SELECT TUORRES, count(*) AS n FROM sdtm.tu GROUP BY 1").iter_rows())
    for form, category in (("tl", "TARGET"), ("ntl", "NON-TARGET"), ("nl", "NEW")):
        expected = query(db, f"SELECT count(DISTINCT (SUBJID, LESID)) AS n FROM ({_in_dm('stg.' + form)})").item()
        assert got.get(category, 0) == expected, category
    assert got["TARGET"] > 0 and got["NON-TARGET"] > 0
    # target and non-target lesions are identified at baseline on the clean trial
    if trial == "clean":
        visits = query(db, "SELECT DISTINCT VISIT, VISITNUM, EPOCH FROM sdtm.tu WHERE TUORRES <> 'NEW'").rows()
        assert visits == [("SCREENING", 1, "SCREENING")]
    # SUPPTU: TUNODE on every target lesion, TUEQUIV on every new lesion
    supp = dict(query(db, "SELECT QNAM, count(*) AS n FROM sdtm.supptu GROUP BY 1").iter_rows())
    assert supp.get("TUNODE", 0) == got["TARGET"] and supp.get("TUEQUIV", 0) == got.get("NEW", 0)


def test_target_lesions_sum_to_the_investigator_sumdiam(loaded):
    """On the clean trial the investigator's sum is the sum of the visit's target lesions."""
    db = loaded["clean"]
    pairs = query(db, """
        WITH lesions AS (
            SELECT USUBJID, VISITNUM, sum(TRSTRESN) AS S FROM sdtm.tr
            WHERE TRGRPID = 'TARGET' AND TRLNKID IS NOT NULL GROUP BY ALL)
        SELECT s.USUBJID, s.VISITNUM, s.TRSTRESN AS SUMDIAM, l.S, s.TRLNKGRP
        FROM sdtm.tr s JOIN lesions l USING (USUBJID, VISITNUM)
        WHERE s.TRTESTCD = 'SUMDIAM' ORDER BY 1, 2""")
    sums = query(db, "SELECT count(*) AS n FROM sdtm.tr WHERE TRTESTCD = 'SUMDIAM'").item()
    stg_sums = query(db, f"SELECT count(*) AS n FROM ({_in_dm('stg.rs')}) WHERE SUMDIAM IS NOT NULL").item()
    assert sums == stg_sums == pairs.height > 10
    first = pairs.row(0, named=True)
    assert first["SUMDIAM"] == first["S"] and first["TRLNKGRP"] == f"V{first['VISITNUM']}"
    assert pairs.filter(pairs["SUMDIAM"] != pairs["S"]).height == 0
    # SUMDIAM rows carry no lesion link; lesion codes follow the node flag
    tests = query(db, "SELECT TRGRPID, TRTESTCD, count(*) AS n FROM sdtm.tr GROUP BY ALL ORDER BY ALL")
    assert {(g, t) for g, t, _ in tests.rows()} <= {
        ("TARGET", "LDIAM"), ("TARGET", "SAXIS"), ("TARGET", "SUMDIAM"), ("NON-TARGET", "TUMSTATE"), ("NEW", "TUMSTATE")}
    nodal = query(db, f"""SELECT count(*) AS n FROM sdtm.tr t JOIN ({_in_dm('stg.tl')}) s
                         ON t.USUBJID = s.STUDYID || '-' || s.SITEID || '-' || s.SUBJID AND t.TRLNKID = s.LESID
                         AND t.VISIT = s.VISIT WHERE (s.NODE = 'Y') <> (t.TRTESTCD = 'SAXIS')""").item()
    assert nodal == 0


@pytest.mark.parametrize("trial", ["clean", "csv"])
def test_rs_rows_match_the_forms(loaded, trial):
    db = loaded[trial]
    got = dict(query(db, "SELECT RSTESTCD, count(*) AS n FROM sdtm.rs GROUP BY 1").iter_rows())
    stg_rs = query(db, f"SELECT count(OVRLRESP) AS n FROM ({_in_dm('stg.rs')})").item()
    ecog = query(db, f"SELECT count(*) AS n FROM ({_in_dm('stg.vs')}) WHERE ECOG IS NOT NULL").item()
    assert got["OVRLRESP"] == stg_rs > 0 and got["ECOG101"] == ecog > 0
    ecog_rows = query(db, "SELECT DISTINCT RSCAT, RSTEST, RSEVAL, RSLNKGRP FROM sdtm.rs WHERE RSTESTCD = 'ECOG101'")
    assert ecog_rows.rows() == [("ECOG", "ECOG1-Performance Status", None, None)]
    mismatch = query(db, "SELECT count(*) AS n FROM sdtm.rs WHERE RSTESTCD = 'ECOG101' AND CAST(RSSTRESN AS VARCHAR) <> RSORRES || '.0'")
    assert mismatch.item() == 0
    recist = query(db, "SELECT DISTINCT RSCAT, RSEVAL FROM sdtm.rs WHERE RSTESTCD <> 'ECOG101'").rows()
    assert recist == [("RECIST 1.1", "INVESTIGATOR")]
    # every RECIST row has a date and links to the TR rows of its visit
    unlinked = query(db, """SELECT count(*) AS n FROM sdtm.rs r WHERE RSCAT = 'RECIST 1.1' AND (RSDTC IS NULL
                            OR RSLNKGRP <> 'V' || VISITNUM OR NOT EXISTS (SELECT 1 FROM sdtm.tr t
                            WHERE t.USUBJID = r.USUBJID AND t.TRLNKGRP = r.RSLNKGRP))""").item()
    assert unlinked == 0


# ---------------------------------------------------------------- tiny hand-made staging database

S = ("NCT05204524", "101", "001")
ROWS = {
    "dm": [dict(ICDAT="2021-12-20", ENRDAT="2021-12-28", SCRFAIL="N", AGE=51, SEX="F", RACE="ASIAN")],
    "ex": [dict(VISIT="CYCLE 1 DAY 1", EXTRT="EPIRUBICIN", EXSTDAT="2022-01-10", EXOCCUR="Y", EXDOSE=120.0)],
    "eot": [dict(VISIT="END OF TREATMENT", EOTDAT="2022-04-01")],
    "vs": [dict(VISIT="SCREENING", VSDAT="2022-01-05", ECOG=1), dict(VISIT="CYCLE 1 DAY 1", VSDAT="2022-01-10", ECOG=0)],
    "tl": [
        dict(VISIT="SCREENING", LESID="T01", TULOC="LUNG", NODE="N", TRMETHOD="CT SCAN", TRDAT="2022-01-03", TRDIAM=20.0, TRDIAMC="MEASURED"),
        dict(VISIT="SCREENING", LESID="T02", TULOC="LYMPH NODE", NODE="Y", TRMETHOD="CT SCAN", TRDAT="2022-01-04", TRDIAM=18.0, TRDIAMC="MEASURED"),
        dict(VISIT="TUMOUR ASSESSMENT WEEK 6", LESID="T01", TULOC="LUNG", NODE="N", TRMETHOD="CT SCAN", TRDAT="2022-02-21", TRDIAM=5.0, TRDIAMC="TOO SMALL TO MEASURE"),
        dict(VISIT="TUMOUR ASSESSMENT WEEK 6", LESID="T02", TULOC="LYMPH NODE", NODE="Y", TRMETHOD="CT SCAN", TRDAT="2022-02-20", TRDIAM=10.0, TRDIAMC="MEASURED"),
        dict(VISIT="TUMOUR ASSESSMENT WEEK 12", LESID="T01", TULOC="LUNG", NODE="N", TRMETHOD="CT SCAN", TRDAT="2022-04-05", TRDIAM=None, TRDIAMC="NOT EVALUATED"),
        dict(VISIT="TUMOUR ASSESSMENT WEEK 12", LESID="T02", TULOC="LYMPH NODE", NODE="Y", TRMETHOD="CT SCAN", TRDAT="2022-04-04", TRDIAM=25.0, TRDIAMC="MEASURED"),
    ],
    "ntl": [
        dict(VISIT="SCREENING", LESID="NT01", TULOC="BONE", TRMETHOD="CT SCAN", TRDAT="2022-01-03", NTSTAT="PRESENT"),
        dict(VISIT="TUMOUR ASSESSMENT WEEK 6", LESID="NT01", TULOC="BONE", TRMETHOD="CT SCAN", TRDAT="2022-02-19", NTSTAT="PRESENT"),
        dict(VISIT="TUMOUR ASSESSMENT WEEK 12", LESID="NT01", TULOC="BONE", TRMETHOD="CT SCAN", TRDAT="2022-04-03", NTSTAT="PRESENT"),
    ],
    "nl": [dict(VISIT="TUMOUR ASSESSMENT WEEK 12", LESID="NEW01", TULOC="LIVER", TRMETHOD="CT SCAN", TRDAT="2022-04-02", NLEQUIV="N")],
    "rs": [
        dict(VISIT="TUMOUR ASSESSMENT WEEK 6", RSDAT=None, TRGRESP="PR", NTRGRESP="NON-CR/NON-PD", NEWLIND="N", OVRLRESP="PR", SUMDIAM=15.0),
        dict(VISIT="TUMOUR ASSESSMENT WEEK 12", RSDAT=None, TRGRESP="NE", NTRGRESP="NON-CR/NON-PD", NEWLIND="Y", OVRLRESP="PD", SUMDIAM=None),
    ],
}


def _tiny(tmp_path: Path, template: Path):
    """A fresh DuckDB with schema stg: the published tables' columns, and ROWS only."""
    from pipeline.sql_models import discover, materialize

    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute(f"ATTACH '{template}' AS tpl (READ_ONLY)")
    con.execute("CREATE SCHEMA stg")
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'tpl' AND table_schema = 'stg'").fetchall()]
    for table in tables:
        con.execute(f"CREATE TABLE stg.{table} AS SELECT * FROM tpl.stg.{table} LIMIT 0")
    con.execute("DETACH tpl")
    for table, rows in ROWS.items():
        for i, row in enumerate(rows, 1):
            full = dict(zip(("STUDYID", "SITEID", "SUBJID"), S), **row, SRC_FILE=f"{table.upper()}.csv", SRC_ROW=i)
            cols = ", ".join(full)
            con.execute(f"INSERT INTO stg.{table} ({cols}) VALUES ({', '.join('?' * len(full))})", list(full.values()))
    models = discover()
    for name in ("int_subject_dates", "dm", "tu", "supptu", "tr", "rs"):
        materialize(con, models[name], models)
    return con


def test_hand_made_trial_exact_values(loaded, tmp_path):
    con = _tiny(tmp_path, loaded["clean"])
    tu = con.execute("SELECT TUSEQ, TULNKID, TUORRES, TULOC, TUMETHOD, VISITNUM, EPOCH, TUDTC, TUDY FROM sdtm.tu").fetchall()
    assert tu == [
        (1, "NEW01", "NEW", "LIVER", "CT SCAN", 202, "FOLLOW-UP", "2022-04-02", 83),
        (2, "NT01", "NON-TARGET", "BONE", "CT SCAN", 1, "SCREENING", "2022-01-03", -7),
        (3, "T01", "TARGET", "LUNG", "CT SCAN", 1, "SCREENING", "2022-01-03", -7),
        (4, "T02", "TARGET", "LYMPH NODE", "CT SCAN", 1, "SCREENING", "2022-01-04", -6),
    ]
    supp = con.execute("SELECT IDVAR, IDVARVAL, QNAM, QVAL FROM sdtm.supptu").fetchall()
    assert supp == [("TUSEQ", "1", "TUEQUIV", "N"), ("TUSEQ", "3", "TUNODE", "N"), ("TUSEQ", "4", "TUNODE", "Y")]

    tr = {(r[0], r[1], r[2]): r[3:] for r in con.execute(
        """SELECT coalesce(TRLNKID, TRGRPID), TRTESTCD, VISITNUM, TRTEST, TRORRES, TRORRESU, TRSTRESC, TRSTRESN,
                  TRSTAT, TRREASND, TRLNKGRP, TRDTC, EPOCH FROM sdtm.tr""").fetchall()}
    assert len(tr) == 11  # 6 target, 3 non-target, 1 new lesion, 1 SUMDIAM (none at week 12)
    assert tr[("T02", "SAXIS", 1)] == ("Short Axis", "18", "mm", "18", 18.0, None, None, "V1", "2022-01-04", "SCREENING")
    assert tr[("T01", "LDIAM", 1)][:5] == ("Longest Diameter", "20", "mm", "20", 20.0)
    # TOO SMALL TO MEASURE stays 5 mm
    assert tr[("T01", "LDIAM", 201)] == ("Longest Diameter", "5", "mm", "5", 5.0, None, None, "V201", "2022-02-21", "TREATMENT")
    assert tr[("T01", "LDIAM", 202)] == ("Longest Diameter", None, None, None, None, "NOT DONE", "NOT EVALUATED", "V202", "2022-04-05", "FOLLOW-UP")
    assert tr[("TARGET", "SUMDIAM", 201)][:5] == ("Sum of Diameters", "15", "mm", "15", 15.0)
    assert tr[("TARGET", "SUMDIAM", 201)][7:] == ("V201", "2022-02-21", "TREATMENT")
    assert tr[("NT01", "TUMSTATE", 202)][:4] == ("Tumor State", "PRESENT", None, "PRESENT")
    assert tr[("NEW01", "TUMSTATE", 202)][:4] == ("Tumor State", "PRESENT", None, "PRESENT")
    assert [k for k in tr if k[1] == "SUMDIAM"] == [("TARGET", "SUMDIAM", 201)]
    assert con.execute("SELECT TRSEQ FROM sdtm.tr WHERE TRLNKID = 'NEW01'").fetchall() == [(1,)]

    rs = con.execute("""SELECT RSTESTCD, VISITNUM, RSORRES, RSSTRESN, RSLNKGRP, RSDTC, RSDY, EPOCH, RSEVAL
                        FROM sdtm.rs ORDER BY RSSEQ""").fetchall()
    assert rs[:2] == [("ECOG101", 1, "1", 1.0, None, "2022-01-05", -5, "SCREENING", None),
                      # no time on VS: ECOG of CYCLE 1 DAY 1 on the first-dose day is pre-dose
                      ("ECOG101", 101, "0", 0.0, None, "2022-01-10", 1, "SCREENING", None)]
    recist = {(r[0], r[1]): r[2:] for r in rs[2:]}
    assert len(recist) == 8
    # blank RSDAT: latest lesion scan of the visit (2022-02-21) unless PD, then the earliest (new lesion 2022-04-02)
    assert recist[("OVRLRESP", 201)] == ("PR", None, "V201", "2022-02-21", 43, "TREATMENT", "INVESTIGATOR")
    assert recist[("OVRLRESP", 202)] == ("PD", None, "V202", "2022-04-02", 83, "FOLLOW-UP", "INVESTIGATOR")
    assert recist[("TRGRESP", 202)][0] == "NE" and recist[("NEWLIND", 202)][0] == "Y"
    assert {v[3] for k, v in recist.items() if k[1] == 202} == {"2022-04-02"}
    con.close()


def test_nodal_test_code_comes_from_the_configuration(loaded, tmp_path, monkeypatch):
    from pipeline.config import DEFAULT_CONFIG_PATH

    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    assert "nodal_tr_testcd: SAXIS" in text
    alt = tmp_path / "trial_config.yaml"
    alt.write_text(text.replace("nodal_tr_testcd: SAXIS", "nodal_tr_testcd: LPERP"), encoding="utf-8")
    monkeypatch.setenv("TRIALWH_CONFIG", str(alt))
    con = _tiny(tmp_path, loaded["clean"])
    codes = con.execute("SELECT DISTINCT TRLNKID, TRTESTCD, TRTEST FROM sdtm.tr WHERE TRLNKID LIKE 'T0%' ORDER BY 1").fetchall()
    assert codes == [("T01", "LDIAM", "Longest Diameter"), ("T02", "LPERP", "Longest Perpendicular")]
    con.close()
