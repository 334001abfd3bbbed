"""The analyst copy (group ``publish``): replaced atomically only after a successful load.

It depends on everything a load builds, so a failed form, a failed blocking check or any
failed upstream asset stops it, and ``warehouse/trial.duckdb`` keeps the previous load.
"""


import dagster as dg

from assets.adam import adam_datasets
from assets.endpoints import endpoint_tables
from assets.qa import qa_findings, qa_findings_ledger, qa_gx_validation, qa_load_summary, qa_query_listing, qa_summary
from assets.reports import analysis_report
from assets.sdtm import sdtm_assets
from assets.sdtm_exports import sdtm_exports
from pipeline.publish import publish_atomically
from pipeline.resources import WarehouseResource


QA_ASSETS = [qa_findings, qa_load_summary, qa_gx_validation, qa_findings_ledger, qa_query_listing, qa_summary]


@dg.asset(key=["warehouse", "published"], group_name="publish", deps=[*QA_ASSETS, *sdtm_assets, sdtm_exports, adam_datasets, endpoint_tables, analysis_report], kinds={"duckdb"})
def published_warehouse(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """warehouse/trial.duckdb: what analysts query, read-only."""
    path = publish_atomically(warehouse.working_path, warehouse.published_path)
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size}
    )
