"""Staged layer: validated, typed rows per form (group ``stg``).

Each ``stg/<form>`` asset validates ``raw.<form>`` (``pipeline.validation``), a range of subjects
at a time (``form_tables.validate_table``), and writes ``validation.<form>`` (every row typed,
quarantined ones flagged, which the cross-form checks read so that one pass reports everything
wrong with a row), ``stg.<form>`` (the accepted rows: a view of ``validation.<form>``),
``quarantine.<form>`` (rows with an ERROR, with their reasons, and superseded duplicates) and
``qa.findings_<form>``. Two checks ride with it:
``reconciliation`` (rows in = accepted + quarantined, summed over the chunks; blocking, so nothing
is published when a row would go missing) and ``pandera_contract`` (failure counts by rule; WARN, since bad rows
are expected and quarantined, not a reason to stop the load).
"""


import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.markdown import markdown_table
from pipeline import config
from pipeline.forms import FORMS
from pipeline.resources import WarehouseResource
from pipeline.validation.form_tables import validate_table
from pipeline.validation.rules import ERROR


def _markdown_counts(counts: pl.DataFrame, cols: list[str]) -> str:
    """Finding counts (column ``n``) summed by ``cols``."""
    counts = counts.group_by(cols).agg(pl.col("n").sum()).sort(cols)
    return markdown_table([*cols, "n"], counts.iter_rows(), empty="no findings")


def _stg_form_asset(form_name: str) -> dg.AssetsDefinition:
    form = FORMS[form_name]
    table = form_name.lower()
    deps = [dg.AssetKey(["raw", table])]
    if form_name != "DM":
        deps.append(dg.AssetKey(["raw", "dm"]))  # KEY01: every subject must be in DM

    @dg.asset(
        key=["stg", table],
        group_name="stg",
        deps=deps,
        kinds={"duckdb", "polars"},
        description=f"{form.label} ({form_name}): validated, typed rows; bad rows quarantined.",
        check_specs=[
            dg.AssetCheckSpec("reconciliation", asset=["stg", table], blocking=True,
                              description="rows in = rows accepted + rows quarantined"),
            dg.AssetCheckSpec("pandera_contract", asset=["stg", table],
                              description="Pandera model and edit checks of the form: failure counts by rule"),
        ],
    )
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, warehouse: WarehouseResource):
        with duckdb.get_connection() as con:
            counts = validate_table(con, form_name, config.data_cutoff(), restricted_dir=warehouse.restricted_dir)
            findings = pl.from_arrow(con.sql(
                f"SELECT RULE_ID, SEVERITY, FIELD, count(*) AS n FROM qa.findings_{table} GROUP BY ALL"
            ).to_arrow_table())
        by_severity = {s: int(n) for s, n in findings.group_by("SEVERITY").agg(pl.col("n").sum()).iter_rows()}
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": counts.accepted,
                "rows_in": counts.rows_in,
                "rows_quarantined": counts.quarantined,
                "chunks": counts.chunks,
                "findings_by_severity": dg.MetadataValue.json(by_severity),
                "findings": dg.MetadataValue.md(_markdown_counts(findings, ["RULE_ID", "SEVERITY", "FIELD"])),
            }
        )
        yield dg.AssetCheckResult(
            check_name="reconciliation",
            passed=counts.reconciled,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows_in": counts.rows_in, "rows_validated": counts.rows_validated,
                      "rows_accepted": counts.accepted, "rows_quarantined": counts.quarantined},
        )
        errors = by_severity.get(ERROR, 0)
        yield dg.AssetCheckResult(
            check_name="pandera_contract",
            passed=errors == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "error_findings": errors,
                "findings_total": int(findings["n"].sum()),
                "by_rule": dg.MetadataValue.md(_markdown_counts(findings, ["RULE_ID", "SEVERITY"])),
            },
        )

    return _asset


stg_form_assets = [_stg_form_asset(name) for name in FORMS]
