"""Raw layer: the export staged losslessly, one DuckDB table per form (group ``raw``).

``raw/export`` reads whatever was delivered (per-form CSV, REDCap flat CSV, ODM XML, or a zip
of any of them) into per-form parquet files holding every value as text plus lineage (format,
file, row). Each ``raw/<form>`` asset loads its form into ``raw.<form>`` of the working
warehouse. A structurally broken file fails only its own form's asset, with a message naming
the file and column; the other forms still load.
"""


import json
import shutil
from datetime import datetime, timezone

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.markdown import markdown_table
from pipeline import privacy
from pipeline.forms import FORMS
from pipeline.resources import WarehouseDuckDB, WarehouseResource

STAGED_MANIFEST = "staged.json"


@dg.asset(key=["raw", "export"], group_name="raw", kinds={"python", "parquet"})
def raw_export(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
               duckdb: WarehouseDuckDB, dead_loads: dg.ResourceParam[list[str]]) -> dg.MaterializeResult:
    """The delivered EDC export, staged as text per form with file/row lineage.

    The first step of a load: it starts a new working file (``WarehouseDuckDB.start_fresh``),
    so a file left by an earlier load, by an older version of the code or bloated by freed
    blocks is never carried into the published copy. The build folder is owner-only: the
    staged export keeps the direct identifiers (``pipeline.privacy``). Earlier loads of the
    warehouse found killed when this one started (``dead_loads``) are listed in its metadata."""
    from pipeline.io import stage_export

    source = warehouse.resolved_export()
    privacy.restrict(warehouse.build_dir)
    duckdb.start_fresh()
    staging = warehouse.staging_dir
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    load_ts = datetime.now(timezone.utc).replace(microsecond=0)
    staged = stage_export(source, staging, load_ts)
    manifest = {
        "source": str(source),
        "format": staged.format,
        "load_ts": load_ts.isoformat(),
        "run_id": context.run.run_id,
        "files": [{"name": n, "sha256": h, "bytes": b} for n, h, b in staged.files],
        "forms": {f: str(p) for f, p in staged.forms.items()},
        "rows_in": dict(staged.rows_in),
        "errors": {f: str(e) for f, e in staged.errors.items()},
        "ignored_columns": {f: list(c) for f, c in staged.ignored_columns.items() if c},
    }
    (staging / STAGED_MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    for form, message in manifest["errors"].items():
        context.log.error(f"{form}: {message}")
    return dg.MaterializeResult(
        metadata={
            "source": dg.MetadataValue.path(str(source)),
            "format": staged.format,
            "files": dg.MetadataValue.md(markdown_table(
                ["file", "sha256", "bytes"],
                ((f["name"], f"`{f['sha256'][:16]}…`", f["bytes"]) for f in manifest["files"]),
            )),
            "rows_in": dg.MetadataValue.json(manifest["rows_in"]),
            "structural_errors": dg.MetadataValue.json(manifest["errors"]),
            "killed_loads_recorded": dg.MetadataValue.json(dead_loads),
        }
    )


def read_staged_manifest(warehouse: WarehouseResource) -> dict:
    return json.loads((warehouse.staging_dir / STAGED_MANIFEST).read_text())


def _raw_form_asset(form_name: str) -> dg.AssetsDefinition:
    form = FORMS[form_name]

    @dg.asset(
        key=["raw", form_name.lower()],
        group_name="raw",
        deps=[raw_export],
        kinds={"duckdb"},
        description=f"{form.label} ({form_name}) as exported: every value as text, with lineage.",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, duckdb: DuckDBResource):
        manifest = read_staged_manifest(warehouse)
        if form_name in manifest["errors"]:
            raise dg.Failure(
                description=f"{form_name} could not be staged: {manifest['errors'][form_name]}",
                metadata={"form": form_name},
            )
        parquet = manifest["forms"][form_name]
        with duckdb.get_connection() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS raw")
            if privacy.identifier_items(form_name):  # DM: identifiers to the restricted store only
                privacy.keep_identifiers(con, form_name, parquet, warehouse.restricted_dir)
            con.execute(f"CREATE OR REPLACE TABLE raw.{form_name.lower()} AS {privacy.raw_select(form_name)}", [parquet])
            rows = con.execute(f"SELECT count(*) FROM raw.{form_name.lower()}").fetchone()[0]
        if rows != manifest["rows_in"][form_name]:
            raise dg.Failure(f"{form_name}: staged {manifest['rows_in'][form_name]} rows but loaded {rows}")
        ignored = manifest["ignored_columns"].get(form_name, [])
        if ignored:
            context.log.warning(f"{form_name}: columns not in the CRF catalogue were not staged: {ignored}")
        return dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "ignored_columns": dg.MetadataValue.json(ignored)}
        )

    return _asset


raw_form_assets = [_raw_form_asset(name) for name in FORMS]
