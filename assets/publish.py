"""The analyst copy (group ``publish``): replaced atomically only after a successful load.

It depends on everything a load builds, so a failed form, a failed blocking check or any
failed upstream asset stops it, and ``warehouse/trial.duckdb`` keeps the previous load. Each
publish is also a data cut (``warehouse/cuts``), a change report against the previous cut
(``qa.change_report`` and ``warehouse/reports/changes/<cut>.md``) and a line of the audit trail.
"""

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from assets.adam import adam_datasets
from assets.endpoints import endpoint_tables
from assets.qa import qa_findings, qa_findings_ledger, qa_gx_validation, qa_load_summary, qa_query_listing, qa_summary
from assets.markdown import markdown_table
from assets.raw import read_staged_manifest
from assets.reports import analysis_report
from assets.sdtm import sdtm_assets
from assets.sdtm_exports import sdtm_exports
from pipeline import config
from pipeline.publish import Published, publish_load
from pipeline.resources import WarehouseDuckDB, WarehouseResource

QA_ASSETS = [qa_findings, qa_load_summary, qa_gx_validation, qa_findings_ledger, qa_query_listing, qa_summary]


def _retry_policy() -> dg.RetryPolicy:
    retry = config.ops()["retry"]
    return dg.RetryPolicy(max_retries=retry["max_retries"], delay=retry["delay_seconds"], backoff=dg.Backoff.EXPONENTIAL)


def write_change_page(result: Published, reports_dir: Path) -> Path:
    """warehouse/reports/changes/<cut>.md: counts per form, site and subject, then the changes."""
    since = f"since cut `{result.previous_cut}`" if result.previous_cut else "(first cut: nothing to compare with)"
    lines = [
        f"# Changes in data cut `{result.cut.cut_id}` {since}", "",
        f"Export: `{result.cut.export}`; data cut-off {result.cut.data_cutoff}; code {result.cut.code_version}.", "",
        f"{result.changes} change rows (one per new or deleted record, one per changed item).", "",
        "## By form, site and subject", "",
        markdown_table(["form", "site", "subject", "new", "changed", "deleted"], result.change_summary,
                       empty="No change."), "",
        "## Changes", "",
        markdown_table(["form", "site", "subject", "visit", "row", "change", "item", "old", "new"],
                       ([("" if v is None else v) for v in row] for row in result.change_detail), empty="No change."),
    ]
    if result.changes > len(result.change_detail):
        lines += ["", f"First {len(result.change_detail)} shown; all {result.changes} are in `qa.change_report`."]
    page = reports_dir / "changes" / f"{result.cut.cut_id}.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return page


@dg.asset(
    key=["warehouse", "published"], group_name="publish",
    deps=[*QA_ASSETS, *sdtm_assets, sdtm_exports, adam_datasets, endpoint_tables, analysis_report],
    kinds={"duckdb"}, retry_policy=_retry_policy(),
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        duckdb: WarehouseDuckDB, dead_loads: dg.ResourceParam[list[str]]) -> dg.MaterializeResult:
    """warehouse/trial.duckdb: what analysts query, read-only; also a data cut of this load.

    It requires ``dead_loads`` as ``raw/export`` does, so that a re-execution from failure (which
    skips staging) also tags its run and records killed loads when it starts."""
    duckdb.release()  # the run's connection holds the working file; publishing reads it from disk
    result = publish_load(
        warehouse, context.instance, context.run.run_id, read_staged_manifest(warehouse),
        datetime.now(timezone.utc).replace(microsecond=0),
    )
    page = write_change_page(result, warehouse.reports_dir)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "bytes": result.path.stat().st_size,
            "cut_id": result.cut.cut_id,
            "previous_cut": result.previous_cut or "none",
            "changes": result.changes,
            "change_report": dg.MetadataValue.path(str(page)),
            "code_version": result.cut.code_version,
            "killed_loads_recorded": dg.MetadataValue.json(dead_loads),
            "unpublished_cuts_removed": dg.MetadataValue.json(result.removed_unpublished),
        }
    )
