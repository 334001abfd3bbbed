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
