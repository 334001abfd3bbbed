"""QA layer of a load (group ``qa``).

- ``qa/findings``: every form's findings (Pandera and edit checks) plus the checks that span
  forms (visit windows, dates after the cut-off or death, RECIST responses, death records),
  as ``qa.findings_current``.
- ``qa/load_summary``: per form, rows in = accepted + quarantined.
- ``qa/gx_validation``: the Great Expectations suites of the cross-table rules XT01-XT10 on
  SDTM and ADaM, one asset check per rule (ERROR rules block everything downstream, WARN
  rules do not), findings in ``qa.findings_gx``, Data Docs in ``reports/qa/index.html``.
- ``qa/ledger``: this load's findings merged into the persistent ledger (``state/``) with
  keys and statuses; written back as ``qa.findings``.
- ``qa/query_listing``: open site queries, CSV and XLSX in ``reports/queries/``.
- ``qa/summary``: open findings by rule, form, site and severity, and the trend of the last loads.
"""


import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.adam import ADAM_DATASETS, SDTM_KEYS
from assets.markdown import markdown_table
from pipeline import config
from pipeline.forms import FORMS
from pipeline.qa import ledger as qa_ledger
from pipeline.qa.cross_table import GX_FINDING_COLUMNS, distribution_frame, violations
from pipeline.qa.queries import build_listing, listing_paths, write_listing
from pipeline.resources import GxRunner, WarehouseResource
from pipeline.validation.cross_form_checks import cross_form_findings
from pipeline.validation.findings import FINDING_COLUMNS
from pipeline.validation.rules import ERROR, RULES
from pipeline.warehouse_io import read_table, write_table

STG_KEYS = [dg.AssetKey(["stg", f.lower()]) for f in FORMS]
ADAM_KEYS = [dg.AssetKey(["adam", name]) for name in ADAM_DATASETS]
GX_RULES = tuple(r for r in RULES if r.startswith("XT"))


@dg.asset(key=["qa", "findings"], group_name="qa", deps=STG_KEYS, kinds={"duckdb"})
def qa_findings(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """qa.findings_current: one row per failed check, from every form and every cross-form check.

    ``qa.findings`` starts as a copy; ``qa/ledger`` replaces it with the ledger (keys, statuses)."""
    cols = ", ".join(FINDING_COLUMNS)
    union = " UNION ALL ".join(f"SELECT {cols} FROM qa.findings_{f.lower()}" for f in FORMS)
    with duckdb.get_connection() as con:
        cross = cross_form_findings(con)
        write_table(con, "qa.findings_cross_form", cross)
        con.execute(
            f"""CREATE OR REPLACE TABLE qa.findings_current AS
            SELECT * FROM ({union} UNION ALL SELECT {cols} FROM qa.findings_cross_form)
            ORDER BY FORM, SUBJID, SRC_ROW, RULE_ID, FIELD"""
        )
        con.execute("CREATE OR REPLACE TABLE qa.findings AS SELECT * FROM qa.findings_current")
        by_severity = dict(con.execute("SELECT SEVERITY, count(*) FROM qa.findings_current GROUP BY 1 ORDER BY 1").fetchall())
        by_rule = con.execute(
            "SELECT RULE_ID, SEVERITY, count(*) FROM qa.findings_current GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()
        total = con.execute("SELECT count(*) FROM qa.findings_current").fetchone()[0]
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


@dg.asset(
    key=["qa", "gx_validation"], group_name="qa", deps=[*SDTM_KEYS, *ADAM_KEYS], kinds={"duckdb", "great_expectations"},
    check_specs=[
        dg.AssetCheckSpec(rule.lower(), asset=["qa", "gx_validation"], blocking=RULES[rule].severity == ERROR,
                          description=f"{rule} ({RULES[rule].severity}): {RULES[rule].title}")
        for rule in GX_RULES
    ],
)
def qa_gx_validation(duckdb: DuckDBResource, warehouse: WarehouseResource, gx: dg.ResourceParam[GxRunner]):
    """Great Expectations suites of the cross-table rules on SDTM and ADaM; Data Docs on every load.

    For a small export the suites run in the helper process of the ``gx`` resource, which
    imported GX while the load's earlier steps ran (:mod:`pipeline.qa.gx_process`)."""
    from pipeline.qa.data_docs import make_offline
    from pipeline.qa.gx_suites import suite_name

    with duckdb.get_connection() as con:
        found = violations(con)
        distributions = distribution_frame(con)
        findings = pl.concat([pl.DataFrame(schema=GX_FINDING_COLUMNS), *found.values()], how="vertical_relaxed")
        write_table(con, "qa.findings_gx", findings)
    docs = warehouse.reports_dir / "qa"
    qa_config = config.trial_config()["qa"]
    results = gx.run_suites(found, distributions, docs, int(qa_config["distribution_min_n"]),
                            int(qa_config["gx_max_rows_per_rule"]))
    make_offline(docs)
    index = docs / "index.html"
    rows = [(r, RULES[r].severity, "pass" if results[r].success else "FAIL", results[r].violations, RULES[r].title)
            for r in GX_RULES]
    with duckdb.get_connection() as con:
        write_table(con, "qa.gx_results", pl.DataFrame(
            [(r, sev, ok == "pass", n) for r, sev, ok, n, _ in rows],
            schema={"RULE_ID": pl.Utf8, "SEVERITY": pl.Utf8, "SUCCESS": pl.Boolean, "VIOLATIONS": pl.Int64}, orient="row"))
    yield dg.MaterializeResult(metadata={
        "data_docs": dg.MetadataValue.path(str(index)),
        "data_docs_url": dg.MetadataValue.url(index.as_uri()),
        "findings": findings.height,
        "rules": dg.MetadataValue.md(markdown_table(["rule", "severity", "result", "violations", "title"], rows)),
    })
    for rule in GX_RULES:
        res, frame = results[rule], found[rule]
        yield dg.AssetCheckResult(
            check_name=rule.lower(), passed=res.success,
            severity=dg.AssetCheckSeverity.ERROR if RULES[rule].severity == ERROR else dg.AssetCheckSeverity.WARN,
            metadata={
                "violations": res.violations,
                "suite": suite_name(rule),
                "gx_result": dg.MetadataValue.json(res.observed),
                "data_docs": dg.MetadataValue.path(str(index)),
                "examples": dg.MetadataValue.md(markdown_table(
                    ["site", "subject", "visit", "record", "message"],
                    frame.select("SITEID", "SUBJID", "VISIT", "RECORD", "MESSAGE").head(10).iter_rows(),
                    empty="none")),
            },
        )


@dg.asset(key=["qa", "ledger"], group_name="qa", deps=[qa_findings, qa_gx_validation], kinds={"duckdb", "parquet"})
def qa_findings_ledger(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
    """qa.findings: the persistent findings ledger after this load (keys, new/persisting/resolved)."""
    with duckdb.get_connection() as con:
        load_no = qa_ledger.update(con, warehouse.state_dir, run_id=context.run.run_id,
                                   export=str(warehouse.export_path or "default"), table="qa.findings")
        write_table(con, "qa.load_history", qa_ledger.read_loads(warehouse.state_dir))
        counts = con.execute("SELECT STATUS, count(*) FROM qa.findings GROUP BY STATUS ORDER BY STATUS").fetchall()
    return dg.MaterializeResult(metadata={
        "load_no": load_no, "dagster/row_count": sum(n for _, n in counts),
        "by_status": dg.MetadataValue.md(markdown_table(["status", "n"], counts)),
        "ledger_file": dg.MetadataValue.path(str(warehouse.state_dir / qa_ledger.LEDGER_FILE)),
    })


def _current_load(con) -> int:
    return int(con.execute("SELECT max(LOAD_NO) FROM qa.load_history").fetchone()[0])


@dg.asset(key=["qa", "query_listing"], group_name="qa", deps=[qa_findings_ledger], kinds={"csv", "excel"})
def qa_query_listing(duckdb: DuckDBResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Open site queries of this load, one row per query, as CSV and XLSX sorted by site and subject."""
    with duckdb.get_connection() as con:
        rows = build_listing(con, "qa.query_listing")
        csv_path, xlsx_path = listing_paths(warehouse.reports_dir, _current_load(con))
        write_listing(con, "qa.query_listing", csv_path, xlsx_path)
        by_site = con.execute("SELECT SITE, count(*) FROM qa.query_listing GROUP BY SITE ORDER BY SITE").fetchall()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "csv": dg.MetadataValue.path(str(csv_path)),
        "xlsx": dg.MetadataValue.path(str(xlsx_path)),
        "by_site": dg.MetadataValue.md(markdown_table(["site", "queries"], by_site, empty="no open queries")),
    })


@dg.asset(key=["qa", "summary"], group_name="qa", deps=[qa_findings_ledger], kinds={"duckdb"})
def qa_summary(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """qa.summary (open findings by rule, form, site and severity) and qa.trend (the last loads)."""
    dims = " UNION ALL ".join(
        f"SELECT '{d}' AS DIMENSION, coalesce(CAST({d} AS VARCHAR), '(none)') AS VALUE, SEVERITY, count(*) AS N "
        f"FROM qa.findings WHERE STATUS IN ('new', 'persisting') GROUP BY ALL"
        for d in ("RULE_ID", "FORM", "SITEID"))
    last = int(config.trial_config()["qa"]["trend_loads"])
    with duckdb.get_connection() as con:
        con.execute(f"CREATE OR REPLACE TABLE qa.summary AS SELECT * FROM ({dims}) ORDER BY DIMENSION, VALUE, SEVERITY")
        con.execute(f"""CREATE OR REPLACE TABLE qa.trend AS
            SELECT LOAD_NO, LOADED_AT, N_NEW, N_PERSISTING, N_RESOLVED, N_OPEN, OPEN_ERROR, OPEN_WARN, OPEN_NOTICE, N_ACCEPTED
            FROM qa.load_history ORDER BY LOAD_NO DESC LIMIT {last}""")
        summary = read_table(con, "qa.summary")
        trend = read_table(con, "qa.trend").sort("LOAD_NO")
    tables = {
        d: markdown_table(["value", "severity", "open"], summary.filter(pl.col("DIMENSION") == d).drop("DIMENSION").iter_rows(),
                          empty="no open findings")
        for d in ("RULE_ID", "FORM", "SITEID")
    }
    return dg.MaterializeResult(metadata={
        "by_rule": dg.MetadataValue.md(tables["RULE_ID"]), "by_form": dg.MetadataValue.md(tables["FORM"]),
        "by_site": dg.MetadataValue.md(tables["SITEID"]),
        "trend": dg.MetadataValue.md(markdown_table(
            ["load", "new", "persisting", "resolved", "open", "ERROR", "WARN", "NOTICE"],
            trend.select("LOAD_NO", "N_NEW", "N_PERSISTING", "N_RESOLVED", "N_OPEN", "OPEN_ERROR", "OPEN_WARN",
                         "OPEN_NOTICE").iter_rows())),
    })
