"""SDTM submission files (group ``sdtm``): every domain as SAS XPT v5 and CDISC Dataset-JSON 1.1.

``sdtm/exports`` depends on every SDTM domain asset (not the ``int_*`` intermediates), so the
blocking ``contract`` checks of the domains gate it: a domain that breaks its contract is never
exported. Files go to ``<warehouse root>/exports/sdtm/`` (``<domain>.xpt``, ``<domain>.json``),
swapped in as a whole (``pipeline.sdtm_export``). The Dataset-JSON creation time is the load
timestamp of the staged export (the same for every rerun of a load), not the wall clock.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.markdown import markdown_table
from assets.raw import read_staged_manifest
from assets.sdtm import sdtm_assets
from assets.sdtm_checks import domain_asset_keys
from pipeline import config
from pipeline.resources import WarehouseResource
from pipeline.sdtm_export import ExportContext, export_tables

DOMAIN_KEYS = domain_asset_keys(sdtm_assets)


def export_dir(warehouse: WarehouseResource):
    return warehouse.root / "exports" / "sdtm"


def creation_datetime(warehouse: WarehouseResource) -> str:
    """The load timestamp (staged manifest); the data cut-off date if there is no manifest."""
    try:
        return datetime.fromisoformat(read_staged_manifest(warehouse)["load_ts"]).isoformat()
    except (FileNotFoundError, KeyError, ValueError):
        return f"{config.trial()['data_cutoff']}T00:00:00"


@dg.asset(
    key=["sdtm", "exports"],
    group_name="sdtm",
    deps=DOMAIN_KEYS,
    kinds={"python", "duckdb"},
    description="Every SDTM domain as SAS XPT v5 and CDISC Dataset-JSON 1.1 in <warehouse>/exports/sdtm/.",
)
def sdtm_exports(warehouse: WarehouseResource, duckdb: DuckDBResource) -> dg.MaterializeResult:
    names = [k.path[-1] for k in DOMAIN_KEYS]
    ctx = ExportContext(studyid=config.trial()["studyid"], creation_datetime=creation_datetime(warehouse))
    with duckdb.get_connection() as con:
        rows = export_tables(con, {name: f"sdtm.{name}" for name in names}, export_dir(warehouse), ctx)
    files = sorted(export_dir(warehouse).iterdir())
    listing = [{"file": p.name, "bytes": p.stat().st_size} for p in files]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(export_dir(warehouse))),
            "domains": dg.MetadataValue.json({n.upper(): rows[n] for n in names}),
            "files": dg.MetadataValue.md(markdown_table(["file", "bytes"], ((f["file"], f["bytes"]) for f in listing))),
            "file_list": dg.MetadataValue.json(listing),
            "dataset_json_creation": ctx.creation_datetime,
        }
    )
