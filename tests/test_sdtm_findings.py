"""SDTM findings and visits: int_visits, LB, VS, SV and the trial design tables (TS/TA/TE).

Hand-checkable rules on the published warehouses of the synthetic trial (clean and messy CSV),
and exact values on a tiny hand-made staged database.
"""

import math
from datetime import date

import duckdb
import pytest

from conftest import query
from pipeline import config
from pipeline.sql_models import SQL_ROOT, discover, materialize

KEYS = {
    "lb": ("USUBJID", "LBTESTCD", "VISITNUM", "LBDTC"),
    "vs": ("USUBJID", "VSTESTCD", "VISITNUM", "VSDTC"),
    "sv": ("USUBJID", "VISITNUM"),
}


@pytest.mark.parametrize("which", ["clean", "csv"])
@pytest.mark.parametrize("domain", sorted(KEYS))
def test_natural_keys_are_unique_and_seq_is_stable(loaded, which, domain):
    keys = ", ".join(KEYS[domain])
    df = query(loaded[which], f"SELECT count(*) AS n, count(DISTINCT ({keys})) AS k, count(VISITNUM) AS v FROM sdtm.{domain}")
    assert df["n"][0] > 0
    assert df["n"][0] == df["k"][0] == df["v"][0]
    if domain != "sv":
        seq = domain.upper() + "SEQ"
        bad = query(loaded[which], f"""
            SELECT USUBJID FROM sdtm.{domain} GROUP BY USUBJID
            HAVING min({seq}) <> 1 OR max({seq}) <> count(*) OR count(DISTINCT {seq}) <> count(*)""")
        assert bad.height == 0
        last = query(loaded[which], f"SELECT column_name FROM information_schema.columns "
                                    f"WHERE table_schema = 'sdtm' AND table_name = '{domain}' ORDER BY ordinal_position")
        assert last["column_name"].to_list()[-2:] == ["SRC_FILE", "SRC_ROW"]


def test_lbnrind_by_hand(loaded):
    df = query(loaded["csv"], "SELECT LBSTRESN, LBSTNRLO, LBSTNRHI, LBNRIND FROM sdtm.lb")

    def expected(x, lo, hi):
        if x is None or (lo is None and hi is None):
            return None
        if lo is not None and x < lo:
            return "LOW"
        if hi is not None and x > hi:
            return "HIGH"
        return "NORMAL"

    rows = df.rows()
    assert all(expected(x, lo, hi) == ind for x, lo, hi, ind in rows)
    assert {"LOW", "HIGH", "NORMAL"} <= {r[3] for r in rows}
    # three rows checked literally
    assert expected(0.49, 1.8, 6.3) == "LOW" and expected(7.0, 1.8, 6.3) == "HIGH" and expected(1.8, 1.8, 6.3) == "NORMAL"


def _predose(dtc: str, rfstdtc: str | None) -> bool:
    if rfstdtc is None or dtc is None or len(dtc) < 10 or "-" in dtc[8:10]:
        return False
    d, r = date.fromisoformat(dtc[:10]), date.fromisoformat(rfstdtc[:10])
    if d != r:
        return d < r
    return len(dtc) < 16 or len(rfstdtc) < 16 or dtc <= rfstdtc


@pytest.mark.parametrize("domain", ["lb", "vs"])
def test_lobxfl_is_the_last_predose_value(loaded, domain):
    p = domain.upper()
    df = query(loaded["csv"], f"""
        SELECT x.USUBJID, x.{p}TESTCD AS TESTCD, x.{p}DTC AS DTC, x.{p}STRESC AS STRESC, x.SRC_ROW,
               x.{p}LOBXFL AS FL, x.EPOCH, d.RFSTDTC
        FROM sdtm.{domain} x JOIN sdtm.dm d USING (USUBJID)""")
    groups: dict = {}
    for row in df.iter_rows(named=True):
        groups.setdefault((row["USUBJID"], row["TESTCD"]), []).append(row)
    with_pre = 0
    for rows in groups.values():
        pre = [r for r in rows if r["STRESC"] is not None and _predose(r["DTC"], r["RFSTDTC"])]
        flagged = [r for r in rows if r["FL"] == "Y"]
        if not pre:
            assert flagged == []
            continue
        with_pre += 1
        assert len(flagged) == 1
        assert flagged[0] == max(pre, key=lambda r: (r["DTC"], r["SRC_ROW"]))
        assert all(r["EPOCH"] == "SCREENING" for r in pre)
    assert with_pre > 0
    # never-dosed subjects have no baseline flag
    assert query(loaded["csv"], f"""SELECT count(*) AS n FROM sdtm.{domain} x JOIN sdtm.dm d USING (USUBJID)
                                    WHERE d.RFSTDTC IS NULL AND x.{p}LOBXFL IS NOT NULL""")["n"][0] == 0


def test_unscheduled_labs_are_numbered_after_the_previous_scheduled_visit(loaded):
    db = loaded["csv"]
    uns = query(db, """SELECT DISTINCT USUBJID, VISITNUM, VISIT, substr(LBDTC, 1, 10) AS D FROM sdtm.lb
                       WHERE VISIT LIKE 'UNSCHEDULED%'""")
    sched = query(db, "SELECT USUBJID, VISITNUM, SVSTDTC FROM sdtm.sv WHERE SVOCCUR = 'Y' ORDER BY ALL")
    assert uns.height > 0
    starts: dict = {}
    for u, v, s in sched.rows():
        starts.setdefault(u, []).append((s, v))
    gaps: dict = {}
    for u, v, visit, d in uns.rows():
        base = math.floor(v + 1e-9)
        j = round((v - base) * 100)
        assert 1 <= j < 100 and abs(v - (base + j / 100)) < 1e-9
        assert visit == f"UNSCHEDULED {v:.2f}"
        before = [(s, n) for s, n in starts[u] if s <= d]
        assert max(before)[1] == base  # the last scheduled visit on or before the lab date
        gaps.setdefault((u, base), set()).add((d, j))
    for dates in gaps.values():  # j = 1, 2, .. in date order within the gap
        assert [j for _, j in sorted(dates)] == list(range(1, len(dates) + 1))


def test_bsa_is_mosteller_of_the_visit_weight(loaded):
    df = query(loaded["csv"], """
        SELECT b.VSSTRESN AS BSA, w.VSSTRESN AS W, h.VSSTRESN AS H, b.VSORRES, b.VSSTRESU,
               b.SRC_ROW = w.SRC_ROW AND b.SRC_FILE = w.SRC_FILE AS SAME_ROW
        FROM sdtm.vs b
        JOIN sdtm.vs w ON w.USUBJID = b.USUBJID AND w.VISITNUM = b.VISITNUM AND w.VSTESTCD = 'WEIGHT'
        JOIN sdtm.vs h ON h.USUBJID = b.USUBJID AND h.VSTESTCD = 'HEIGHT' AND h.VISIT = 'SCREENING'
        WHERE b.VSTESTCD = 'BSA'""")
    n_bsa = query(loaded["csv"], "SELECT count(*) AS n FROM sdtm.vs WHERE VSTESTCD = 'BSA'")["n"][0]
    assert df.height == n_bsa > 0
    for bsa, w, h, orres, unit, same in df.rows():
        assert bsa == round(math.sqrt(h * w / 3600), 2)
        assert orres is None and unit == "m2" and same
    assert query(loaded["csv"], "SELECT count(*) AS n FROM sdtm.vs WHERE VSTESTCD = 'ECOG'")["n"][0] == 0


def test_trial_design(loaded):
    db = loaded["clean"]
    ts = dict(query(db, "SELECT TSPARMCD, TSVAL FROM sdtm.ts WHERE TSSEQ = 1").rows())
    trial = config.trial()
    assert ts["DCUTDTC"] == trial["data_cutoff"]
    assert ts["PLANSUB"] == str(trial["planned_subjects"])
    itt = query(db, "SELECT count(*) AS n FROM sdtm.dm WHERE ARMCD IS NOT NULL")["n"][0]
    assert ts["ACTSUB"] == str(itt)
    ta = query(db, "SELECT TAETORD, ETCD, EPOCH FROM sdtm.ta ORDER BY TAETORD").rows()
    assert ta[0][1:] == ("SCRN", "SCREENING") and ta[-1][1:] == ("FU", "FOLLOW-UP")
    assert [r[1] for r in ta[1:-1]] == ["TRT"] * trial["max_cycles"]
    te = dict(query(db, "SELECT ETCD, TEDUR FROM sdtm.te").rows())
    assert te == {"SCRN": "P28D", "TRT": "P21D", "FU": None}


# ---- tiny hand-made staged database ---------------------------------------------------------

_STG = """
CREATE SCHEMA stg;
CREATE TABLE stg.dm (STUDYID VARCHAR, SITEID VARCHAR, SUBJID VARCHAR, ICDAT VARCHAR, ENRDAT VARCHAR,
    SCRFAIL VARCHAR, BRTHDAT VARCHAR, AGE BIGINT, SEX VARCHAR, RACE VARCHAR, SRC_FILE VARCHAR, SRC_ROW BIGINT);
INSERT INTO stg.dm VALUES ('NCT05204524', '101', '001', '2021-12-15', '2021-12-30', 'N', '1970', 51, 'F', 'ASIAN', 'DM.csv', 1);
CREATE TABLE stg.ex (SUBJID VARCHAR, VISIT VARCHAR, EXSTDAT VARCHAR, EXSTTIM VARCHAR, EXENTIM VARCHAR, EXOCCUR VARCHAR, EXDOSE DOUBLE);
INSERT INTO stg.ex VALUES
    ('001', 'CYCLE 1 DAY 1', '2022-01-10', '09:00', '10:00', 'Y', 100),
    ('001', 'CYCLE 2 DAY 1', '2022-01-31', '09:00', '10:00', 'Y', 100),
    ('001', 'CYCLE 3 DAY 1', '2022-02-21', '09:00', '10:00', 'Y', 100);
CREATE TABLE stg.eot (SUBJID VARCHAR, VISIT VARCHAR, EOTDAT VARCHAR);
CREATE TABLE stg.dth (SUBJID VARCHAR, DTHDAT VARCHAR);
CREATE TABLE stg.eos (SUBJID VARCHAR, EOSDAT VARCHAR, LSTCONDT VARCHAR);
CREATE TABLE stg.vs (SUBJID VARCHAR, VISIT VARCHAR, VSDAT VARCHAR);
INSERT INTO stg.vs VALUES ('001', 'SCREENING', '2021-12-20');
CREATE TABLE stg.echo (SUBJID VARCHAR, VISIT VARCHAR, ECHODAT VARCHAR);
CREATE TABLE stg.tl (SUBJID VARCHAR, VISIT VARCHAR, TRDAT VARCHAR);
CREATE TABLE stg.ntl (SUBJID VARCHAR, VISIT VARCHAR, TRDAT VARCHAR);
CREATE TABLE stg.nl (SUBJID VARCHAR, VISIT VARCHAR, TRDAT VARCHAR);
CREATE TABLE stg.rs (SUBJID VARCHAR, VISIT VARCHAR, RSDAT VARCHAR);
CREATE TABLE stg.fu (SUBJID VARCHAR, VISIT VARCHAR, FUDAT VARCHAR);
CREATE TABLE stg.lb (STUDYID VARCHAR, SITEID VARCHAR, SUBJID VARCHAR, VISIT VARCHAR, LBDAT VARCHAR, LBTIM VARCHAR,
    LBCAT VARCHAR, LBTEST VARCHAR, LBORRES VARCHAR, LBORRESU VARCHAR, LBORNRLO VARCHAR, LBORNRHI VARCHAR,
    LBSTAT VARCHAR, LBSTRESC VARCHAR, LBSTRESN DOUBLE, LBSTRESU VARCHAR, LBSTNRLO DOUBLE, LBSTNRHI DOUBLE,
    SRC_FILE VARCHAR, SRC_ROW BIGINT);
INSERT INTO stg.lb VALUES
    ('NCT05204524', '101', '001', 'SCREENING',     '2021-12-20', '08:00', 'HEMATOLOGY', 'NEUT', '3,1', '10^9/L', '1.8', '6.3', NULL, '3.1', 3.1, '10^9/L', 1.8, 6.3, 'LB.csv', 1),
    ('NCT05204524', '101', '001', 'UNSCHEDULED',   '2022-01-09', NULL,    'HEMATOLOGY', 'NEUT', '2.5', '10^9/L', '1.8', '6.3', NULL, '2.5', 2.5, '10^9/L', 1.8, 6.3, 'LB.csv', 2),
    ('NCT05204524', '101', '001', 'CYCLE 1 DAY 1', '2022-01-10', '08:00', 'HEMATOLOGY', 'NEUT', '2.9', '10^9/L', '1.8', '6.3', NULL, '2.9', 2.9, '10^9/L', 1.8, 6.3, 'LB.csv', 3),
    ('NCT05204524', '101', '001', 'CYCLE 1 DAY 1', '2022-01-10', '08:00', 'CHEMISTRY',  'ALT',  '80',  'U/L',    '7',   '40',  NULL, '80',  80,  'U/L',    7,   40,  'LB.csv', 4),
    ('NCT05204524', '101', '001', 'UNSCHEDULED',   '2022-01-17', '10:00', 'HEMATOLOGY', 'NEUT', '0.4', '10^9/L', '1.8', '6.3', NULL, '0.4', 0.4, '10^9/L', 1.8, 6.3, 'LB.csv', 5),
    ('NCT05204524', '101', '001', 'CYCLE 2 DAY 1', '2022-01-31', '08:00', 'HEMATOLOGY', 'NEUT', '2.2', '10^9/L', '1.8', '6.3', NULL, '2.2', 2.2, '10^9/L', 1.8, 6.3, 'LB.csv', 6),
    ('NCT05204524', '101', '001', 'CYCLE 3 DAY 1', '2022-02-21', '08:00', 'HEMATOLOGY', 'NEUT', '2.0', '10^9/L', '1.8', '6.3', NULL, '2.0', 2.0, '10^9/L', 1.8, 6.3, 'LB.csv', 7),
    ('NCT05204524', '101', '001', 'UNSCHEDULED',   '2022-03-01', '09:00', 'HEMATOLOGY', 'NEUT', '1.1', '10^9/L', '1.8', '6.3', NULL, '1.1', 1.1, '10^9/L', 1.8, 6.3, 'LB.csv', 9),
    ('NCT05204524', '101', '001', 'UNSCHEDULED',   '2022-02-28', '09:00', 'HEMATOLOGY', 'NEUT', '0.9', '10^9/L', '1.8', '6.3', NULL, '0.9', 0.9, '10^9/L', 1.8, 6.3, 'LB.csv', 8);
"""


def test_hand_made_stg_visits_days_epochs_and_flags(tmp_path):
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute(_STG)
    models = discover(SQL_ROOT)
    for name in ("int_subject_dates", "dm", "int_visits", "lb"):
        materialize(con, models[name], models)
    rows = con.execute("""SELECT LBTESTCD, LBDTC, VISITNUM, VISIT, EPOCH, LBDY, LBLOBXFL, LBNRIND, LBSEQ, LBORRES
                          FROM sdtm.lb ORDER BY LBSEQ""").fetchall()
    got = {(r[0], r[1]): r[2:] for r in rows}
    # two unscheduled labs in the C3D1 gap: 103.01, 103.02 in date order (not in row order)
    assert got[("NEUT", "2022-02-28T09:00")][:2] == (103.01, "UNSCHEDULED 103.01")
    assert got[("NEUT", "2022-03-01T09:00")][:2] == (103.02, "UNSCHEDULED 103.02")
    assert got[("NEUT", "2022-01-17T10:00")][:2] == (101.01, "UNSCHEDULED 101.01")
    assert got[("NEUT", "2022-01-09")][:2] == (1.01, "UNSCHEDULED 1.01")
    # study day across the no-day-0 boundary (first dose 2022-01-10)
    assert got[("NEUT", "2022-01-09")][3] == -1
    assert got[("NEUT", "2022-01-10T08:00")][3] == 1
    assert got[("NEUT", "2021-12-20T08:00")][3] == -21
    # the pre-dose C1D1 lab (08:00 < 09:00 dose) is SCREENING and the baseline
    assert got[("NEUT", "2022-01-10T08:00")][2] == "SCREENING"
    assert got[("NEUT", "2022-01-17T10:00")][2] == "TREATMENT"
    assert got[("NEUT", "2022-01-10T08:00")][4] == "Y"
    assert got[("ALT", "2022-01-10T08:00")][4] == "Y"
    assert [r[0:2] for r in rows if r[6] == "Y"] == [("ALT", "2022-01-10T08:00"), ("NEUT", "2022-01-10T08:00")]
    assert got[("ALT", "2022-01-10T08:00")][5] == "HIGH" and got[("NEUT", "2022-01-17T10:00")][5] == "LOW"
    assert got[("NEUT", "2021-12-20T08:00")][7] == "3,1"  # LBORRES as delivered
    assert [r[8] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0][0] == "ALT"  # LBSEQ sorts LBTESTCD first


def test_unscheduled_visit_names_its_forms_once_each_in_order(tmp_path):
    """SV.SVUPDES of an unscheduled visit lists the forms with records on it: distinct, sorted,
    comma-separated; scheduled visits have none."""
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute(_STG)
    # the unscheduled lab of 2022-01-17 also has vital signs and an echo that day
    con.execute("INSERT INTO stg.vs VALUES ('001', 'UNSCHEDULED', '2022-01-17')")
    con.execute("INSERT INTO stg.echo VALUES ('001', 'UNSCHEDULED', '2022-01-17')")
    models = discover(SQL_ROOT)
    for name in ("int_subject_dates", "dm", "int_visits", "sv"):
        materialize(con, models[name], models)
    sv = dict(con.execute("SELECT VISIT, SVUPDES FROM sdtm.sv").fetchall())
    assert sv["UNSCHEDULED 101.01"] == "UNSCHEDULED VISIT: ECHO, LB, VS"
    assert sv["UNSCHEDULED 103.01"] == "UNSCHEDULED VISIT: LB"
    assert sv["CYCLE 1 DAY 1"] is None and sv["SCREENING"] is None
