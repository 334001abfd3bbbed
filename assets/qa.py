"""QA layer of a load: the findings ledger and the reconciliation summary (group ``qa``).

``qa/findings`` gathers every form's findings and adds the checks that span forms (visit
windows, dates after the cut-off or death, RECIST responses against lesions, death records).
``qa/load_summary`` is the per-form count of rows in, accepted and quarantined that the load
summary and QA read.
"""


import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.markdown import markdown_table
from pipeline.forms import FORMS
from pipeline.validation.cross_form_checks import cross_form_findings
from pipeline.validation.findings import FINDING_COLUMNS
from pipeline.warehouse_io import write_table

STG_KEYS = [dg.AssetKey(["stg", f.lower()]) for f in FORMS]


@dg.asset(key=["qa", "findings"], group_name="qa", deps=STG_KEYS, kinds={"duckdb"})
def qa_findings(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """qa.findings: one row per failed check, from every form and every cross-form check."""
    cols = ", ".join(FINDING_COLUMNS)
    union = " UNION ALL ".join(f"SELECT {cols} FROM qa.findings_{f.lower()}" for f in FORMS)
    with duckdb.get_connection() as con:
        cross = cross_form_findings(con)
        write_table(con, "qa.findings_cross_form", cross)
        con.execute(
            f"""CREATE OR REPLACE TABLE qa.findings AS
            SELECT * FROM ({union} UNION ALL SELECT {cols} FROM qa.findings_cross_form)
            ORDER BY FORM, SUBJID, SRC_ROW, RULE_ID, FIELD"""
        )
        by_severity = dict(con.execute("SELECT SEVERITY, count(*) FROM qa.findings GROUP BY 1 ORDER BY 1").fetchall())
        by_rule = con.execute(
            "SELECT RULE_ID, SEVERITY, count(*) FROM qa.findings GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()
        total = con.execute("SELECT count(*) FROM qa.findings").fetchone()[0]
    md = markdown_table(["rule", "severity", "n"], by_rule, empty="no findings")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": total, "by_severity": dg.MetadataValue.json(by_severity),
                  "by_rule": dg.MetadataValue.md(md)}
    )


@dg.asset(key=["qa", "load_summary"], group_name="qa", deps=STG_KEYS, kinds={"duckdb"})
def qa_load_summary(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """qa.load_summary: per form, rows in = rows accepted + rows quarantined."""
    parts = " UNION ALL ".join(
        f"""SELECT '{f}' AS FORM,
                   (SELECT count(*) FROM raw.{f.lower()}) AS ROWS_IN,
                   (SELECT count(*) FROM stg.{f.lower()}) AS ROWS_ACCEPTED,
                   (SELECT count(*) FROM quarantine.{f.lower()}) AS ROWS_QUARANTINED"""
        for f in FORMS
    )
    with duckdb.get_connection() as con:
        con.execute(f"CREATE OR REPLACE TABLE qa.load_summary AS {parts}")
        bad = con.execute(
            "SELECT FORM FROM qa.load_summary WHERE ROWS_IN <> ROWS_ACCEPTED + ROWS_QUARANTINED"
        ).fetchall()
        rows = con.execute("SELECT * FROM qa.load_summary ORDER BY FORM").fetchall()
    if bad:
        raise dg.Failure(f"rows lost between raw and stg for forms {[b[0] for b in bad]}")
    md = markdown_table(["form", "in", "accepted", "quarantined"], rows)
    return dg.MaterializeResult(metadata={"per_form": dg.MetadataValue.md(md)})
