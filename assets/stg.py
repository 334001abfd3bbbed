"""Staged layer: validated, typed rows per form (group ``stg``).

Each ``stg/<form>`` asset validates ``raw.<form>`` (``pipeline.validation``) and writes
``stg.<form>`` (accepted rows), ``quarantine.<form>`` (rows with an ERROR, with their reasons,
and superseded duplicates), ``validation.<form>`` (every row typed, quarantined ones flagged,
which the cross-form checks read so that one pass reports everything wrong with a row) and
``qa.findings_<form>``. Two checks ride with it:
``reconciliation`` (rows in = accepted + quarantined; blocking, so nothing is published when a
row would go missing) and ``pandera_contract`` (failure counts by rule; WARN, since bad rows
are expected and quarantined, not a reason to stop the load).
"""


import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.markdown import markdown_table
from pipeline import config
from pipeline.forms import FORMS
from pipeline.validation.form_validation import ValidationContext, validate_form
from pipeline.validation.normalise import pad_subjid
from pipeline.validation.rules import ERROR
from pipeline.warehouse_io import read_table, write_table


def _markdown_counts(frame: pl.DataFrame, cols: list[str]) -> str:
    counts = frame.group_by(cols).len().sort(cols)
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
    def _asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
        with duckdb.get_connection() as con:
            raw = read_table(con, f"raw.{table}")
            dm_subjects = None
            if form_name != "DM":
                dm = read_table(con, "raw.dm").select(pad_subjid(pl.col("SUBJID")).alias("s"))
                dm_subjects = frozenset(dm["s"].drop_nulls().to_list())
            result = validate_form(form_name, raw, ValidationContext(config.data_cutoff(), dm_subjects))
            write_table(con, f"stg.{table}", result.accepted)
            write_table(con, f"validation.{table}", result.candidates)
            write_table(con, f"quarantine.{table}", result.quarantine)
            write_table(con, f"qa.findings_{table}", result.findings)
            loaded = con.execute(f"SELECT count(*) FROM stg.{table}").fetchone()[0]
            held = con.execute(f"SELECT count(*) FROM quarantine.{table}").fetchone()[0]
        by_severity = {s: int(n) for s, n in result.findings.group_by("SEVERITY").len().iter_rows()}
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": loaded,
                "rows_in": result.rows_in,
                "rows_quarantined": held,
                "findings_by_severity": dg.MetadataValue.json(by_severity),
                "findings": dg.MetadataValue.md(_markdown_counts(result.findings, ["RULE_ID", "SEVERITY", "FIELD"])),
            }
        )
        yield dg.AssetCheckResult(
            check_name="reconciliation",
            passed=result.rows_in == loaded + held,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows_in": result.rows_in, "rows_accepted": loaded, "rows_quarantined": held},
        )
        errors = result.findings.filter(pl.col("SEVERITY") == ERROR).height
        yield dg.AssetCheckResult(
            check_name="pandera_contract",
            passed=errors == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "error_findings": errors,
                "findings_total": result.findings.height,
                "by_rule": dg.MetadataValue.md(_markdown_counts(result.findings, ["RULE_ID", "SEVERITY"])),
            },
        )

    return _asset


stg_form_assets = [_stg_form_asset(name) for name in FORMS]
