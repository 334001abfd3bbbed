"""SDTM models rewritten for 100,000 subjects, against hand-computed rows on tiny inputs.

The rewrites changed how a value is computed (one aggregate instead of another, one sort instead
of a window and a sort), not what it is: each test builds the few staged rows a case needs in
an in-memory DuckDB, runs the model file through the SQL runner and checks the rows by hand.
"""

from __future__ import annotations

import duckdb

from pipeline import sql_models

#: staged forms int_visits reads, with the column that dates a record
VISIT_FORMS = {"vs": "VSDAT", "lb": "LBDAT", "ex": "EXSTDAT", "echo": "ECHODAT", "tl": "TRDAT", "ntl": "TRDAT",
               "nl": "TRDAT", "rs": "RSDAT", "eot": "EOTDAT", "fu": "FUDAT"}


def _staged(records: dict[str, list[tuple]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA stg")
    for form, date_col in VISIT_FORMS.items():
        con.execute(f"CREATE TABLE stg.{form} (SUBJID VARCHAR, VISIT VARCHAR, {date_col} VARCHAR)")
        for row in records.get(form, []):
            con.execute(f"INSERT INTO stg.{form} VALUES (?, ?, ?)", list(row))
    return con


def test_int_visits_lists_each_visit_date_s_forms_once_in_name_order():
    con = _staged({
        "vs": [("001", "SCREENING", "2023-01-02"), ("001", "CYCLE 1 DAY 1", "2023-01-10")],
        "lb": [("001", "SCREENING", "2023-01-02"), ("001", "SCREENING", "2023-01-02"),
               ("001", "SCREENING", "2023-01-03"), ("001", "UNSCHEDULED", "2023-01-20")],
        "tl": [("001", "SCREENING", "2023-01-02")],
        "echo": [("001", "UNSCHEDULED", "2023-01-20")],
        "eot": [("001", "END OF TREATMENT", None)],
        "fu": [("002", "UNSCHEDULED", "2023-02")],
    })
    models = sql_models.discover(sql_models.SQL_ROOT, layers=("sdtm",))
    sql_models.materialize(con, models["int_visits"], models)
    got = con.execute("SELECT SUBJID, CRFVISIT, VISDAT, VISITNUM, VISIT, FORMS FROM sdtm.int_visits").fetchall()
    assert got == [
        ("001", "SCREENING", "2023-01-02", 1.0, "SCREENING", "LB,TL,VS"),
        ("001", "SCREENING", "2023-01-03", 1.0, "SCREENING", "LB"),
        ("001", "CYCLE 1 DAY 1", "2023-01-10", 101.0, "CYCLE 1 DAY 1", "VS"),
        ("001", "UNSCHEDULED", "2023-01-20", 101.01, "UNSCHEDULED 101.01", "ECHO,LB"),
        ("001", "END OF TREATMENT", None, 800.0, "END OF TREATMENT", "EOT"),
        ("002", "UNSCHEDULED", "2023-02", None, "UNSCHEDULED", "FU"),
    ]


LB_COLUMNS = ("STUDYID", "SUBJID", "VISIT", "LBDAT", "LBTIM", "LBCAT", "LBTEST", "LBORRES", "LBORRESU", "LBORNRLO",
              "LBORNRHI", "LBSTAT", "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "SRC_FILE", "SRC_ROW")


def test_lb_numbers_each_subject_s_rows_in_one_sorted_pass():
    """Two subjects staged out of order (the second subject's rows first, tests and dates mixed):
    LB comes out ordered by USUBJID then LBSEQ, LBSEQ restarting at 1 per subject in LBTESTCD,
    LBDTC, SRC_ROW order; LBLOBXFL on the latest pre-dose result of each test (a first-dose-day
    result with a time after the dose is not pre-dose), VISITNUM from int_visits."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA stg; CREATE SCHEMA sdtm")
    con.execute("CREATE TABLE stg.lb (" + ", ".join(
        f"{c} {'DOUBLE' if c in ('LBSTRESN', 'LBSTNRLO', 'LBSTNRHI') else 'BIGINT' if c == 'SRC_ROW' else 'VARCHAR'}" for c in LB_COLUMNS) + ")")

    def lb(subjid, visit, dat, tim, test, value, row):
        return ("S", subjid, visit, dat, tim, "CHEMISTRY", test, str(value), "U/L", "0", "40", None, str(value),
                float(value), "U/L", 0.0, 40.0, "lb.csv", row)

    staged = [
        lb("002", "SCREENING", "2023-01-03", None, "HGB", 120, 1),
        lb("001", "CYCLE 1 DAY 1", "2023-01-10", "09:00", "ALT", 30, 2),   # after the 08:00 dose
        lb("001", "SCREENING", "2023-01-02", None, "HGB", 130, 3),
        lb("001", "SCREENING", "2023-01-02", None, "ALT", 50, 4),
        lb("001", "CYCLE 1 DAY 1", "2023-01-10", "07:30", "ALT", 20, 5),   # before the dose: baseline
        lb("002", "CYCLE 1 DAY 1", "2023-01-12", None, "ALT", 45, 6),
    ]
    con.executemany(f"INSERT INTO stg.lb VALUES ({', '.join('?' * len(LB_COLUMNS))})", staged)
    con.execute("""CREATE TABLE sdtm.int_subject_dates AS SELECT * FROM (VALUES
        ('001', 'S-101-001', '2023-01-10T08:00', DATE '2023-01-10', DATE '2023-06-01'),
        ('002', 'S-101-002', '2023-01-12', DATE '2023-01-12', DATE '2023-06-01'))
        t(SUBJID, USUBJID, RFXSTDTC, TRTSDT, TRTEND)""")
    con.execute("""CREATE TABLE sdtm.dm AS SELECT * FROM (VALUES ('S-101-001', '2023-01-10'), ('S-101-002', '2023-01-12'))
        t(USUBJID, RFSTDTC)""")
    con.execute("""CREATE TABLE sdtm.int_visits AS SELECT * FROM (VALUES
        ('001', 'SCREENING', '2023-01-02', 1.0, 'SCREENING'), ('001', 'CYCLE 1 DAY 1', '2023-01-10', 101.0, 'CYCLE 1 DAY 1'),
        ('002', 'SCREENING', '2023-01-03', 1.0, 'SCREENING'), ('002', 'CYCLE 1 DAY 1', '2023-01-12', 101.0, 'CYCLE 1 DAY 1'))
        t(SUBJID, CRFVISIT, VISDAT, VISITNUM, VISIT)""")
    models = sql_models.discover(sql_models.SQL_ROOT, layers=("sdtm",))
    sql_models.materialize(con, models["lb"], models)
    got = con.execute("SELECT USUBJID, LBSEQ, LBTESTCD, LBDTC, LBSTRESN, LBLOBXFL, VISITNUM, EPOCH, LBDY, SRC_ROW "
                      "FROM sdtm.lb").fetchall()
    assert got == [
        ("S-101-001", 1, "ALT", "2023-01-02", 50.0, None, 1.0, "SCREENING", -8, 4),
        ("S-101-001", 2, "ALT", "2023-01-10T07:30", 20.0, "Y", 101.0, "SCREENING", 1, 5),
        ("S-101-001", 3, "ALT", "2023-01-10T09:00", 30.0, None, 101.0, "TREATMENT", 1, 2),
        ("S-101-001", 4, "HGB", "2023-01-02", 130.0, "Y", 1.0, "SCREENING", -8, 3),
        ("S-101-002", 1, "ALT", "2023-01-12", 45.0, "Y", 101.0, "SCREENING", 1, 6),
        ("S-101-002", 2, "HGB", "2023-01-03", 120.0, "Y", 1.0, "SCREENING", -9, 1),
    ]
    assert con.execute("SELECT typeof(LBSEQ) FROM sdtm.lb LIMIT 1").fetchone()[0] == "INTEGER"


def test_lb_numbers_rows_by_position_across_row_groups():
    """LBSEQ comes from each row's position in the sorted table (the model's post-hook), so the
    sorted rows must be written in order when DuckDB inserts several row groups on all threads:
    400,000 staged rows (four row groups) of 2,000 subjects, delivered in scrambled order, come
    out in USUBJID, LBTESTCD, LBDTC, SRC_ROW order with LBSEQ 1, 2, ... within each subject."""
    con = duckdb.connect(config={"threads": 2})
    con.execute("CREATE SCHEMA stg; CREATE SCHEMA sdtm")
    types = {"LBSTRESN": "DOUBLE", "LBSTNRLO": "DOUBLE", "LBSTNRHI": "DOUBLE", "SRC_ROW": "BIGINT"}
    generated = {
        "STUDYID": "'S'", "SUBJID": "lpad(CAST((i * 7919) % 2000 + 1 AS VARCHAR), 4, '0')", "VISIT": "'SCREENING'",
        "LBDAT": "CAST(DATE '2023-01-01' + CAST((i * 31) % 200 AS INTEGER) AS VARCHAR)",
        "LBTIM": "CASE WHEN i % 3 = 0 THEN NULL ELSE lpad(CAST(i % 24 AS VARCHAR), 2, '0') || ':00' END",
        "LBCAT": "'CHEMISTRY'", "LBTEST": "['ALT', 'AST', 'HGB', 'PLT', 'K'][i % 5 + 1]",
        "LBORRES": "'1'", "LBORRESU": "'U/L'", "LBORNRLO": "'0'", "LBORNRHI": "'40'", "LBSTAT": "NULL",
        "LBSTRESC": "'1'", "LBSTRESN": "1.0", "LBSTRESU": "'U/L'", "LBSTNRLO": "0.0", "LBSTNRHI": "40.0",
        "SRC_FILE": "'lb.csv'", "SRC_ROW": "(i * 104729) % 400000",
    }
    con.execute("CREATE TABLE stg.lb AS SELECT " + ", ".join(
        f"CAST({generated[c]} AS {types.get(c, 'VARCHAR')}) AS {c}" for c in LB_COLUMNS) + " FROM range(400000) t(i)")
    con.execute("""CREATE TABLE sdtm.int_subject_dates AS SELECT lpad(CAST(s AS VARCHAR), 4, '0') AS SUBJID,
        'S-' || lpad(CAST(s AS VARCHAR), 4, '0') AS USUBJID, '2023-03-01T08:00' AS RFXSTDTC,
        DATE '2023-03-01' AS TRTSDT, DATE '2023-09-01' AS TRTEND FROM range(1, 2001) t(s)""")
    con.execute("CREATE TABLE sdtm.dm AS SELECT USUBJID, '2023-03-01' AS RFSTDTC FROM sdtm.int_subject_dates")
    con.execute("CREATE TABLE sdtm.int_visits (SUBJID VARCHAR, CRFVISIT VARCHAR, VISDAT VARCHAR, VISITNUM DOUBLE, VISIT VARCHAR)")
    models = sql_models.discover(sql_models.SQL_ROOT, layers=("sdtm",))
    rows, columns = sql_models.materialize(con, models["lb"], models)
    assert rows == 400_000 and "FIRSTROW" not in [c for c, _ in columns]
    staged = con.execute("SELECT 'S-' || SUBJID, LBTEST, LBDAT || coalesce('T' || LBTIM, ''), SRC_ROW FROM stg.lb").fetchall()
    staged.sort()
    expected, seq = [], 0
    for i, (usubjid, test, dtc, src_row) in enumerate(staged):
        seq = 1 if i == 0 or usubjid != staged[i - 1][0] else seq + 1
        expected.append((usubjid, seq, test, dtc, src_row))
    assert con.execute("SELECT USUBJID, LBSEQ, LBTESTCD, LBDTC, SRC_ROW FROM sdtm.lb").fetchall() == expected
