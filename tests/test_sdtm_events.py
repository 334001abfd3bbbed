"""SDTM event / intervention domains: EX, AE, CM, PR, MH, DS and SUPPEX / SUPPAE / SUPPMH.

Checks on the published warehouses of the session fixture (clean and messy CSV trial) and one
exact-value test that runs the models on a tiny hand-made stg database.
"""

from pathlib import Path

import duckdb
import pytest

from tests.conftest import query

DATASETS = ("clean", "csv")

SEQ = {"ex": "EXSEQ", "ae": "AESEQ", "cm": "CMSEQ", "pr": "PRSEQ", "mh": "MHSEQ", "ds": "DSSEQ"}

# sdtm.md §11 natural keys (after USUBJID)
KEYS = {
    "ex": ["EXTRT", "EXSTDTC"],
    "ae": ["AEDECOD", "AESTDTC", "AESPID"],
    "cm": ["CMTRT", "CMSTDTC", "CMSPID"],
    "mh": ["MHTERM", "MHSTDTC", "MHSPID"],
    "ds": ["DSCAT", "DSSCAT", "DSDECOD"],
}

REL_ORDER = ["NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED"]


def _scalar(db, sql):
    return query(db, sql).row(0)[0]


@pytest.mark.parametrize("ds", DATASETS)
def test_ex_holds_administered_doses_only(loaded, ds):
    db = loaded[ds]
    n_ex = _scalar(db, "SELECT count(*) FROM sdtm.ex")
    n_given = _scalar(db, "SELECT count(*) FROM stg.ex WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm) AND EXOCCUR = 'Y' AND EXDOSE > 0")
    assert n_ex == n_given > 0
    # no planned-but-not-given dose reaches EX (matched to its stg row by lineage)
    assert _scalar(db, """SELECT count(*) FROM sdtm.ex e JOIN stg.ex x USING (SRC_FILE, SRC_ROW)
                          WHERE x.EXOCCUR <> 'Y' OR NOT x.EXDOSE > 0""") == 0
    fixed = query(db, "SELECT DISTINCT DOMAIN, EXDOSU, EXDOSFRM, EXDOSFRQ FROM sdtm.ex")
    assert fixed.rows() == [("EX", "mg", "INJECTION", "ONCE")]
    assert _scalar(db, "SELECT count(*) FROM sdtm.ex WHERE NOT regexp_matches(EXGRPID, '^CYCLE [1-6]$')") == 0
    assert _scalar(db, "SELECT count(*) FROM sdtm.ex WHERE VISITNUM <> 100 + CAST(substr(EXGRPID, 7) AS INTEGER)") == 0


@pytest.mark.parametrize("ds", DATASETS)
def test_ex_first_dose_is_study_day_1(loaded, ds):
    db = loaded[ds]
    first = query(db, """SELECT e.USUBJID, e.EXSTDY, e.EXSTDTC, e.EPOCH, d.RFSTDTC FROM sdtm.ex e
                         JOIN sdtm.dm d USING (USUBJID) WHERE e.EXSEQ = 1""")
    assert first.height > 0
    assert set(first["EXSTDY"].to_list()) == {1}
    assert set(first["EPOCH"].to_list()) == {"TREATMENT"}
    assert (first["EXSTDTC"] == first["RFSTDTC"]).all()
    # no dosed subject of DM is missing from EX, and EXSTDY never 0
    assert _scalar(db, "SELECT count(*) FROM sdtm.dm WHERE RFSTDTC IS NOT NULL AND USUBJID NOT IN (SELECT USUBJID FROM sdtm.ex)") == 0
    assert _scalar(db, "SELECT count(*) FROM sdtm.ex WHERE EXSTDY = 0 OR EXENDY = 0") == 0


@pytest.mark.parametrize("ds", DATASETS)
def test_ex_dtc_and_adjustment(loaded, ds):
    db = loaded[ds]
    bad = _scalar(db, """SELECT count(*) FROM sdtm.ex e JOIN stg.ex x USING (SRC_FILE, SRC_ROW)
        WHERE e.EXSTDTC <> x.EXSTDAT || coalesce('T' || x.EXSTTIM, '')
           OR e.EXENDTC <> x.EXSTDAT || coalesce('T' || x.EXENTIM, '')
           OR e.EXADJ IS DISTINCT FROM CASE WHEN x.EXADJ = 'Y' THEN x.EXADJRS END
           OR e.EXTRT <> x.EXTRT OR e.EXDOSE <> x.EXDOSE OR e.EXSPID <> CAST(x.EXSPID AS VARCHAR)""")
    assert bad == 0


@pytest.mark.parametrize("ds", DATASETS)
def test_seq_is_1_to_n_per_subject(loaded, ds):
    db = loaded[ds]
    for table, seq in SEQ.items():
        bad = query(db, f"""SELECT USUBJID, count(*) AS n, count(DISTINCT {seq}) AS nd, min({seq}) AS lo, max({seq}) AS hi
                            FROM sdtm.{table} GROUP BY USUBJID HAVING NOT (n = nd AND lo = 1 AND hi = n)""")
        assert bad.height == 0, f"{table}: {bad}"


@pytest.mark.parametrize("ds", DATASETS)
def test_natural_keys_are_unique(loaded, ds):
    db = loaded[ds]
    for table, key in KEYS.items():
        cols = ", ".join(["USUBJID"] + key)
        # NULLs compare as equal in GROUP BY, which is what a key check wants
        dup = query(db, f"SELECT {cols}, count(*) AS n FROM sdtm.{table} GROUP BY ALL HAVING n > 1")
        assert dup.height == 0, f"{table}: {dup}"


@pytest.mark.parametrize("ds", DATASETS)
def test_lineage_points_to_the_staged_row(loaded, ds):
    db = loaded[ds]
    checks = {
        "ex": ("stg.ex", "t.EXTRT = s.EXTRT AND t.EXSPID = CAST(s.EXSPID AS VARCHAR)"),
        "ae": ("stg.ae", "t.AESPID = CAST(s.AESPID AS VARCHAR) AND t.AETERM = trim(s.AETERM) "
                         "AND t.AESTDTC IS NOT DISTINCT FROM s.AESTDAT"),
        "mh": ("stg.mh", "t.MHTERM = trim(s.MHTERM)"),
        "pr": ("stg.prtx", "t.PRTRT = trim(s.PRTRT)"),
    }
    for table, (stg, same) in checks.items():
        where = "WHERE t.PRCAT = 'PRIOR ANTICANCER THERAPY'" if table == "pr" else (
            "WHERE t.MHCAT = 'GENERAL MEDICAL HISTORY'" if table == "mh" else "")
        n, ok = query(db, f"""SELECT count(*), count(*) FILTER (WHERE {same})
                              FROM sdtm.{table} t LEFT JOIN {stg} s USING (SRC_FILE, SRC_ROW) {where}""").row(0)
        assert n == ok, f"{table}: {n - ok} rows do not match their stg row"
    # CM: each source category joins back to its own form
    for cat, stg, col in (("CONCOMITANT MEDICATION", "stg.cm", "CMTRT"),
                          ("PRIOR ANTICANCER THERAPY", "stg.prtx", "PRTRT"),
                          ("SUBSEQUENT ANTICANCER THERAPY", "stg.subtx", "STTRT")):
        n, ok = query(db, f"""SELECT count(*), count(*) FILTER (WHERE t.CMTRT = trim(s.{col}))
                              FROM sdtm.cm t LEFT JOIN {stg} s USING (SRC_FILE, SRC_ROW)
                              WHERE t.CMCAT = '{cat}'""").row(0)
        assert n == ok, cat
    # every CM / MH / DS row count is the sum of its sources
    assert _scalar(db, "SELECT count(*) FROM sdtm.cm") == _scalar(db, """SELECT
        (SELECT count(*) FROM stg.cm WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm)) + (SELECT count(*) FROM stg.prtx WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm) AND PRTYPE = 'ADJUVANT SYSTEMIC')
        + (SELECT count(*) FROM stg.subtx WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm) AND STTYPE = 'SYSTEMIC')""")
    assert _scalar(db, "SELECT count(*) FROM sdtm.mh") == _scalar(db, "SELECT (SELECT count(*) FROM stg.mh WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm)) + (SELECT count(*) FROM stg.dx WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm))")
    assert _scalar(db, "SELECT count(*) FROM sdtm.ae") == _scalar(db, "SELECT count(*) FROM stg.ae WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm)")


@pytest.mark.parametrize("ds", DATASETS)
def test_ae_rel_and_acn_recomputed(loaded, ds):
    db = loaded[ds]
    rows = query(db, """SELECT a.AEREL, a.AEACN, s.AERELEPI, s.AERELTMZ, s.AEACNEPI, s.AEACNTMZ
                        FROM sdtm.ae a JOIN stg.ae s USING (SRC_FILE, SRC_ROW)""")
    assert rows.height > 0
    for rel, acn, rel_epi, rel_tmz, acn_epi, acn_tmz in rows.iter_rows():
        rels = [r for r in (rel_epi, rel_tmz) if r is not None]
        assert rel == (max(rels, key=REL_ORDER.index) if rels else None)
        acns = {a for a in (acn_epi, acn_tmz) if a is not None}
        assert acn == (acns.pop() if len(acns) == 1 else ("MULTIPLE" if acns else None))


def test_ae_partial_start_dates_stay_partial(loaded):
    db = loaded["csv"]
    partial = query(db, """SELECT a.AESTDTC, a.AESTDY, s.AESTDAT FROM sdtm.ae a JOIN stg.ae s USING (SRC_FILE, SRC_ROW)
                           WHERE NOT regexp_matches(a.AESTDTC, '^\\d{4}-\\d{2}-\\d{2}')""")
    assert partial.height > 0, "the messy trial should contain partial AE start dates"
    assert partial["AESTDY"].null_count() == partial.height
    assert (partial["AESTDTC"] == partial["AESTDAT"]).all()
    assert all(len(v) in (4, 7) for v in partial["AESTDTC"].to_list())
    # complete dates of dosed subjects do get a study day, never 0
    assert _scalar(db, """SELECT count(*) FROM sdtm.ae a JOIN sdtm.dm d USING (USUBJID)
                          WHERE d.RFSTDTC IS NOT NULL AND length(a.AESTDTC) >= 10 AND (a.AESTDY IS NULL OR a.AESTDY = 0)""") == 0
    ongoing = query(db, """SELECT a.AEENRTPT, a.AEENTPT, s.AEONGO FROM sdtm.ae a JOIN stg.ae s USING (SRC_FILE, SRC_ROW)""")
    for rtpt, tpt, ongo in ongoing.iter_rows():
        assert (rtpt, tpt) == (("ONGOING", "END OF STUDY") if ongo == "Y" else (None, None))


@pytest.mark.parametrize("ds", DATASETS)
def test_ds_records(loaded, ds):
    db = loaded[ds]
    n_subj = _scalar(db, "SELECT count(*) FROM stg.dm WHERE ICDAT IS NOT NULL")
    assert _scalar(db, "SELECT count(*) FROM sdtm.ds WHERE DSDECOD = 'INFORMED CONSENT OBTAINED'") == n_subj
    eot = query(db, """SELECT d.DSDECOD, d.DSTERM, d.EPOCH, d.DSSTDTC, e.EOTREAS, e.EOTDAT
                       FROM sdtm.ds d JOIN stg.eot e USING (SRC_FILE, SRC_ROW)""")
    assert eot.height == _scalar(db, "SELECT count(*) FROM stg.eot WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm)")
    for decod, term, epoch, stdtc, reas, eotdat in eot.iter_rows():
        assert epoch == "TREATMENT" and stdtc == eotdat
        if reas == "COMPLETED (6 CYCLES)":
            assert (decod, term) == ("COMPLETED", "COMPLETED (6 CYCLES)")
    assert "COMPLETED" in eot["DSDECOD"].to_list()
    epochs = query(db, "SELECT DISTINCT DSCAT, DSSCAT, EPOCH FROM sdtm.ds ORDER BY ALL").rows()
    for cat, scat, epoch in epochs:
        assert epoch == {"PROTOCOL MILESTONE": "SCREENING"}.get(cat) or scat in ("STUDY TREATMENT", "STUDY PARTICIPATION")
    assert _scalar(db, "SELECT count(*) FROM sdtm.ds WHERE DSSCAT = 'STUDY PARTICIPATION' AND EPOCH <> 'FOLLOW-UP'") == 0
    assert _scalar(db, "SELECT count(*) FROM sdtm.ds WHERE DSSTDY = 0") == 0


@pytest.mark.parametrize("ds", DATASETS)
def test_mh_diagnosis_row_and_suppqual(loaded, ds):
    db = loaded[ds]
    dx = query(db, """SELECT m.MHTERM, m.MHSTDTC, x.DXDAT FROM sdtm.mh m JOIN stg.dx x USING (SRC_FILE, SRC_ROW)
                      WHERE m.MHCAT = 'PRIMARY CANCER DIAGNOSIS'""")
    assert dx.height == _scalar(db, "SELECT count(*) FROM stg.dx WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm)") > 0
    assert set(dx["MHTERM"].to_list()) == {"LEIOMYOSARCOMA"}
    assert (dx["MHSTDTC"].fill_null("") == dx["DXDAT"].fill_null("")).all()
    # SUPPMH hangs on the diagnosis row, QVAL as collected
    bad = _scalar(db, """SELECT count(*) FROM sdtm.suppmh q
        JOIN sdtm.mh m ON m.USUBJID = q.USUBJID AND CAST(m.MHSEQ AS VARCHAR) = q.IDVARVAL
        JOIN stg.dx x ON x.SRC_FILE = m.SRC_FILE AND x.SRC_ROW = m.SRC_ROW
        WHERE m.MHCAT <> 'PRIMARY CANCER DIAGNOSIS'
           OR q.QVAL <> CASE q.QNAM WHEN 'PRIMSITE' THEN x.PRIMSITE WHEN 'HISTGRD' THEN x.HISTGRD
                                    WHEN 'DISSTAT' THEN x.DISSTAT WHEN 'METSITES' THEN x.METSITES END""")
    assert bad == 0
    assert _scalar(db, "SELECT count(*) FROM sdtm.suppmh WHERE QNAM = 'PRIMSITE'") == dx.height


@pytest.mark.parametrize("ds", DATASETS)
def test_supp_datasets(loaded, ds):
    db = loaded[ds]
    for supp, parent, seq, qnams in (("suppex", "ex", "EXSEQ", {"BSA", "PLDOSE", "CYCLE"}),
                                     ("suppae", "ae", "AESEQ", {"AERELEPI", "AERELTMZ", "AEACNEPI", "AEACNTMZ"}),
                                     ("suppmh", "mh", "MHSEQ", {"PRIMSITE", "HISTGRD", "DISSTAT", "METSITES"})):
        df = query(db, f"SELECT * FROM sdtm.{supp}")
        assert df.columns == ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL"]
        assert set(df["QNAM"].to_list()) <= qnams and df["QVAL"].null_count() == 0
        assert set(df["IDVAR"].to_list()) == {seq}
        assert max(len(x) for x in df["QNAM"].to_list()) <= 8 and max(len(x) for x in df["QLABEL"].to_list()) <= 40
        orphans = _scalar(db, f"""SELECT count(*) FROM sdtm.{supp} q LEFT JOIN sdtm.{parent} p
                                  ON p.USUBJID = q.USUBJID AND CAST(p.{seq} AS VARCHAR) = q.IDVARVAL
                                  WHERE p.USUBJID IS NULL""")
        assert orphans == 0, supp
        assert query(db, f"SELECT USUBJID, IDVARVAL, QNAM, count(*) n FROM sdtm.{supp} GROUP BY ALL HAVING n > 1").height == 0
    # SUPPEX values equal the staged row of the parent EX record
    bad = _scalar(db, """SELECT count(*) FROM sdtm.suppex q
        JOIN sdtm.ex e ON e.USUBJID = q.USUBJID AND CAST(e.EXSEQ AS VARCHAR) = q.IDVARVAL
        JOIN stg.ex x USING (SRC_FILE, SRC_ROW)
        WHERE CAST(q.QVAL AS DOUBLE) <> CASE q.QNAM WHEN 'BSA' THEN x.BSA WHEN 'PLDOSE' THEN x.EXPDOSE ELSE x.CYCLE END""")
    assert bad == 0
    assert _scalar(db, "SELECT count(*) FROM sdtm.suppex WHERE QNAM = 'CYCLE'") == _scalar(db, "SELECT count(*) FROM sdtm.ex")


@pytest.mark.parametrize("ds", DATASETS)
def test_lineage_columns_last_and_order(loaded, ds):
    db = loaded[ds]
    for table, seq in SEQ.items():
        df = query(db, f"SELECT * FROM sdtm.{table}")
        assert df.columns[-2:] == ["SRC_FILE", "SRC_ROW"], table
        assert df.columns[:3] == ["STUDYID", "DOMAIN", "USUBJID"], table
        assert set(df["DOMAIN"].to_list()) <= {table.upper()}
        assert df.select(["USUBJID", seq]).rows() == sorted(df.select(["USUBJID", seq]).rows()), table
        assert df["SRC_ROW"].null_count() == 0 and df["SRC_FILE"].null_count() == 0


@pytest.mark.parametrize("ds", DATASETS)
def test_cm_and_pr_categories(loaded, ds):
    db = loaded[ds]
    cats = set(query(db, "SELECT DISTINCT CMCAT FROM sdtm.cm")["CMCAT"].to_list())
    assert "CONCOMITANT MEDICATION" in cats
    assert cats <= {"CONCOMITANT MEDICATION", "PRIOR ANTICANCER THERAPY", "SUBSEQUENT ANTICANCER THERAPY"}
    assert _scalar(db, """SELECT count(*) FROM sdtm.cm c JOIN stg.cm s USING (SRC_FILE, SRC_ROW)
                          WHERE (s.CMONGO = 'Y') <> (c.CMENRTPT IS NOT NULL)""") == 0
    n_pr = _scalar(db, """SELECT (SELECT count(*) FROM stg.prtx WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm) AND PRTYPE <> 'ADJUVANT SYSTEMIC')
                               + (SELECT count(*) FROM stg.subtx WHERE SUBJID IN (SELECT SUBJID FROM sdtm.dm) AND STTYPE <> 'SYSTEMIC')""")
    assert _scalar(db, "SELECT count(*) FROM sdtm.pr") == n_pr


# --------------------------------------------------------------------------------------------
# exact values on a tiny hand-made staged database

LINEAGE = {"SRC_FILE": "VARCHAR", "SRC_ROW": "BIGINT"}
ID = {"STUDYID": "VARCHAR", "SITEID": "VARCHAR", "SUBJID": "VARCHAR", "VISIT": "VARCHAR"}

TABLES = {
    "dm": {**ID, "ICDAT": "VARCHAR", "ENRDAT": "VARCHAR", "SCRFAIL": "VARCHAR", "BRTHDAT": "VARCHAR", "AGE": "BIGINT",
           "SEX": "VARCHAR", "ETHNIC": "VARCHAR", "RACE": "VARCHAR", "HEIGHT": "DOUBLE", "WEIGHT": "DOUBLE", **LINEAGE},
    "ex": {**ID, "EXSPID": "BIGINT", "CYCLE": "BIGINT", "EXTRT": "VARCHAR", "EXDAY": "BIGINT", "EXOCCUR": "VARCHAR",
           "EXREASND": "VARCHAR", "EXSTDAT": "VARCHAR", "EXSTTIM": "VARCHAR", "EXENTIM": "VARCHAR", "WEIGHT": "DOUBLE",
           "BSA": "DOUBLE", "EXPDOSE": "DOUBLE", "EXDOSE": "DOUBLE", "EXDOSU": "VARCHAR", "EXROUTE": "VARCHAR",
           "EXADJ": "VARCHAR", "EXADJRS": "VARCHAR", "EXDELAY": "VARCHAR", **LINEAGE},
    "eot": {**ID, "EOTDAT": "VARCHAR", "LSTDOSDT": "VARCHAR", "NCYCLES": "BIGINT", "EOTREAS": "VARCHAR",
            "EOTREASP": "VARCHAR", **LINEAGE},
    "eos": {**ID, "EOSDAT": "VARCHAR", "EOSSTAT": "VARCHAR", "EOSREAS": "VARCHAR", "LSTCONDT": "VARCHAR", **LINEAGE},
    "dth": {**ID, "DTHDAT": "VARCHAR", "DTHCAUS": "VARCHAR", **LINEAGE},
    "vs": {**ID, "VSDAT": "VARCHAR", **LINEAGE},
    "ae": {**ID, "AESPID": "BIGINT", "AETERM": "VARCHAR", "AESTDAT": "VARCHAR", "AEENDAT": "VARCHAR", "AEONGO": "VARCHAR",
           "AETOXGR": "VARCHAR", "AESER": "VARCHAR", "AESDTH": "VARCHAR", "AESLIFE": "VARCHAR", "AESHOSP": "VARCHAR",
           "AESDISAB": "VARCHAR", "AESCONG": "VARCHAR", "AESMIE": "VARCHAR", "AERELEPI": "VARCHAR", "AERELTMZ": "VARCHAR",
           "AEACNEPI": "VARCHAR", "AEACNTMZ": "VARCHAR", "AEOUT": "VARCHAR", "AELLT": "VARCHAR", "AEDECOD": "VARCHAR",
           "AEPTCD": "VARCHAR", "AEHLT": "VARCHAR", "AEHLGT": "VARCHAR", "AEBODSYS": "VARCHAR", "AESOCCD": "VARCHAR",
           "MEDDRAV": "VARCHAR", **LINEAGE},
}


def _stg(con, name, rows):
    cols = TABLES[name]
    con.execute(f"CREATE TABLE stg.{name} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
    for i, row in enumerate(rows, start=1):
        full = {"STUDYID": "NCT05204524", "SITEID": "101", "SUBJID": "001", "SRC_FILE": f"{name.upper()}.csv",
                "SRC_ROW": i, **row}
        names = list(full)
        con.execute(f"INSERT INTO stg.{name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                    [full[n] for n in names])


def _ae(spid, start, end=None, ongo="N", rel=("NOT RELATED", "NOT RELATED"), acn=("DOSE NOT CHANGED", "DOSE NOT CHANGED"),
        term="Nausea", decod="Nausea"):
    return {"AESPID": spid, "AETERM": term, "AESTDAT": start, "AEENDAT": end, "AEONGO": ongo, "AETOXGR": "2",
            "AESER": "N", "AERELEPI": rel[0], "AERELTMZ": rel[1], "AEACNEPI": acn[0], "AEACNTMZ": acn[1],
            "AEOUT": "RECOVERED/RESOLVED", "AEDECOD": decod, "AEBODSYS": "Gastrointestinal disorders",
            "AESOCCD": "10017947", "VISIT": "AELOG"}


def test_models_on_hand_made_stg(tmp_path: Path):
    from pipeline.sql_models import discover, materialize

    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute("CREATE SCHEMA stg")
    _stg(con, "dm", [{"ICDAT": "2021-12-20", "ENRDAT": "2022-01-05", "SCRFAIL": "N", "AGE": 50, "SEX": "F",
                      "RACE": "ASIAN", "VISIT": "SCREENING"}])
    dose = {"VISIT": "CYCLE 1 DAY 1", "CYCLE": 1, "EXDAY": 1, "EXOCCUR": "Y", "EXSTDAT": "2022-01-10",
            "BSA": 1.6, "EXDOSU": "mg", "EXROUTE": "INTRAVENOUS", "EXADJ": "N"}
    _stg(con, "ex", [
        {**dose, "EXSPID": 1, "EXTRT": "EPIRUBICIN", "EXSTTIM": "09:00", "EXENTIM": "09:30", "EXPDOSE": 75.0, "EXDOSE": 120.0},
        {**dose, "EXSPID": 2, "EXTRT": "TEMOZOLOMIDE", "EXOCCUR": "N", "EXREASND": "toxicity", "EXPDOSE": 150.0},
        {**dose, "EXSPID": 3, "EXTRT": "TEMOZOLOMIDE", "EXSTDAT": "2022-01-11", "EXDAY": 2, "EXPDOSE": 150.0,
         "EXDOSE": 192.0, "BSA": 1.28, "EXADJ": "Y", "EXADJRS": "ADVERSE EVENT"},
    ])
    _stg(con, "eot", [{"VISIT": "END OF TREATMENT", "EOTDAT": "2022-03-01", "EOTREAS": "PROGRESSIVE DISEASE"}])
    for name in ("eos", "dth", "vs"):
        _stg(con, name, [])
    _stg(con, "ae", [
        _ae(1, "2022-01-09", rel=("UNLIKELY RELATED", "PROBABLY RELATED"), acn=("DOSE REDUCED", "DOSE NOT CHANGED"),
            term="  Nausea "),
        _ae(2, "2022-01-10", "2022-01-11", rel=("DEFINITELY RELATED", "POSSIBLY RELATED")),
        _ae(3, "2022-01", "2022-02", term="恶心"),                 # straddles the first dose
        _ae(4, "2022-02", ongo="Y", acn=("DRUG WITHDRAWN", "DRUG WITHDRAWN")),   # inside TREATMENT
        _ae(5, "2022-03-02", "2022-03-05", rel=("NOT RELATED", None), decod=None),
    ])

    models = discover()
    for name in ("int_subject_dates", "dm", "ex", "suppex", "ae", "suppae"):
        materialize(con, models[name], models)

    ex = con.execute("SELECT EXSEQ, EXTRT, EXSTDTC, EXENDTC, EXSTDY, EXDOSE, EXADJ, EPOCH, VISIT, VISITNUM, EXGRPID, "
                     "SRC_ROW FROM sdtm.ex ORDER BY EXSEQ").fetchall()
    assert ex == [
        (1, "EPIRUBICIN", "2022-01-10T09:00", "2022-01-10T09:30", 1, 120.0, None, "TREATMENT", "CYCLE 1 DAY 1", 101, "CYCLE 1", 1),
        (2, "TEMOZOLOMIDE", "2022-01-11", "2022-01-11", 2, 192.0, "ADVERSE EVENT", "TREATMENT", "CYCLE 1 DAY 1", 101, "CYCLE 1", 3),
    ]
    suppex = con.execute("SELECT IDVARVAL, QNAM, QVAL, QORIG FROM sdtm.suppex ORDER BY IDVARVAL, QNAM").fetchall()
    assert suppex == [("1", "BSA", "1.6", "CRF"), ("1", "CYCLE", "1", "CRF"), ("1", "PLDOSE", "75", "CRF"),
                      ("2", "BSA", "1.28", "CRF"), ("2", "CYCLE", "1", "CRF"), ("2", "PLDOSE", "150", "CRF")]

    ae = con.execute("SELECT AESEQ, AESPID, AETERM, AEDECOD, AESTDTC, AESTDY, AEENDY, EPOCH, AEREL, AEACN, "
                     "AEENRTPT, AEENTPT, AESOCCD FROM sdtm.ae ORDER BY AESEQ").fetchall()
    assert ae == [
        (1, "3", "恶心", "Nausea", "2022-01", None, None, None, "NOT RELATED", "DOSE NOT CHANGED", None, None, 10017947),
        (2, "1", "Nausea", "Nausea", "2022-01-09", -1, None, "SCREENING", "PROBABLY RELATED", "MULTIPLE", None, None, 10017947),
        (3, "2", "Nausea", "Nausea", "2022-01-10", 1, 2, "TREATMENT", "DEFINITELY RELATED", "DOSE NOT CHANGED", None, None, 10017947),
        (4, "4", "Nausea", "Nausea", "2022-02", None, None, "TREATMENT", "NOT RELATED", "DRUG WITHDRAWN", "ONGOING", "END OF STUDY", 10017947),
        (5, "5", "Nausea", None, "2022-03-02", 52, 55, "FOLLOW-UP", "NOT RELATED", "DOSE NOT CHANGED", None, None, 10017947),
    ]
    suppae = con.execute("SELECT IDVARVAL, QNAM, QVAL FROM sdtm.suppae WHERE IDVARVAL IN ('2', '5') ORDER BY IDVARVAL, QNAM").fetchall()
    assert suppae == [("2", "AEACNEPI", "DOSE REDUCED"), ("2", "AEACNTMZ", "DOSE NOT CHANGED"),
                      ("2", "AERELEPI", "UNLIKELY RELATED"), ("2", "AERELTMZ", "PROBABLY RELATED"),
                      ("5", "AEACNEPI", "DOSE NOT CHANGED"), ("5", "AEACNTMZ", "DOSE NOT CHANGED"),
                      ("5", "AERELEPI", "NOT RELATED")]
    con.close()
