"""The one Dagster ``Definitions`` of the project (loaded by ``workspace.yaml`` and ``dg``).

Nothing here opens DuckDB or reads data: definition load only builds the asset graph.
The in-process executor is the default because this machine has 2 cores and a process per
step costs seconds.
"""

import dagster as dg

from assets.adam import adam_datasets
from assets.endpoints import endpoint_tables
from assets.publish import QA_ASSETS, published_warehouse
from assets.reports import analysis_report
from assets.raw import raw_export, raw_form_assets
from assets.sdtm import sdtm_assets
from assets.sdtm_checks import sdtm_contract_checks
from assets.sdtm_exports import sdtm_exports
from assets.stg import stg_form_assets
from pipeline.jobs import nightly_load
from pipeline.resources import build_resources
from pipeline.schedules import nightly_schedule
from pipeline.sensors import ops_sensors


def build_definitions(home=None, export_path=None) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            raw_export, *raw_form_assets, *stg_form_assets, *QA_ASSETS, *sdtm_assets, adam_datasets, endpoint_tables, sdtm_exports,
            analysis_report, published_warehouse,
        ],
        asset_checks=[*sdtm_contract_checks],
        jobs=[nightly_load],
        schedules=[nightly_schedule()],
        sensors=ops_sensors(),
        resources=build_resources(home, export_path),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
