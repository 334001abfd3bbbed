"""The analysis report (group ``endpoints``): figures and one self-contained HTML file.

It reads the endpoint tables of schema ``endpoints`` (endpoints.md §5) and the ADaM datasets
the subject-level figures need from the working warehouse, writes the figures (PNG + SVG)
and ``report.html`` to ``warehouse/reports/analysis/<run_id>/`` and refreshes
``warehouse/reports/analysis/latest/``. Tables that do not exist (an external SDTM without RS, or a
graph without the endpoint assets) only drop their sections, so the asset never fails a
nightly load for a missing input. The Dagster UI shows the report path, the ORR rows and the
KM and waterfall figures (base64 PNG in Markdown, which the UI's sanitiser allows for images).
"""

import base64
import os
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.markdown import markdown_table
from pipeline import config
from pipeline.endpoints.inputs import read_projected
from pipeline.reports.build import build_report
from pipeline.reports.html import binary_rows
from pipeline.resources import WarehouseResource
from pipeline.warehouse_io import read_table

#: The endpoint tables of endpoints.md §5 (assets ``["endpoints", name]``).
ENDPOINT_TABLES = (
    "ep_binary", "ep_bor_dist", "ep_tte", "ep_tte_rate", "ep_km_curve", "ep_at_risk",
    "ep_teae_overview", "ep_teae_soc_pt", "ep_lab_shift", "ep_exposure",
)
#: ADaM datasets read for the figures (adtte through the KM tables): dataset -> (columns,
#: row filter). Only these columns and rows are read, so a 100,000-subject trial costs a few
#: subject-level frames, not ADRS / ADTR whole.
ADAM_INPUTS = {
    "adsl": (("USUBJID", "SUBJID", "ITTFL", "EFFFL", "SAFFL", "TRTSDT", "TRTDURD", "DTHDT", "LSTALVDT", "EOSSTT"), "TRUE"),
    "adrs": (("USUBJID", "PARAMCD", "AVALC", "ADT"), "PARAMCD IN ('CBOR', 'CRSP', 'PD')"),
    "adtr": (("USUBJID", "PARAMCD", "ABLFL", "ANL01FL", "ANL03FL", "PCHG", "ADT", "ADY"), "PARAMCD = 'SDIAM'"),
}


def refresh_latest(run_dir: Path, latest: Path) -> Path:
    """Replace ``latest`` by a copy of ``run_dir``: copied beside it first, then swapped by two
    renames, so a reader never sees a half-copied folder."""
    tmp = latest.with_name(f".{latest.name}.{os.getpid()}.tmp")
    old = latest.with_name(f".{latest.name}.{os.getpid()}.old")
    for leftover in (tmp, old):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(run_dir, tmp)
    if latest.exists():
        os.replace(latest, old)
    os.replace(tmp, latest)
    shutil.rmtree(old, ignore_errors=True)
    return latest


def _image_md(title: str, png: bytes) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")


@dg.asset(
    key=["reports", "analysis_report"],
    group_name="endpoints",
    deps=[dg.AssetKey(["endpoints", t]) for t in ENDPOINT_TABLES] + [dg.AssetKey(["adam", n]) for n in (*ADAM_INPUTS, "adtte")],
    kinds={"html", "duckdb"},
)
def analysis_report(context: dg.AssetExecutionContext, duckdb: DuckDBResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """warehouse/reports/analysis/<run_id>/report.html with the KM, waterfall, swimmer and spider figures."""
    with duckdb.get_connection() as con:
        existing = set(con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('endpoints', 'adam')"
        ).fetchall())
        tables = {name: read_table(con, f"endpoints.{name}") for schema, name in sorted(existing)
                  if schema == "endpoints" and name.startswith("ep_")}
        adam = {name: read_projected(con, f"adam.{name}", columns, where)
                for name, (columns, where) in ADAM_INPUTS.items() if ("adam", name) in existing}
    run_dir = warehouse.analysis_reports_dir / context.run.run_id
    output = build_report(tables, adam, run_dir,
                          subtitle=f"Data cut-off {config.data_cutoff().isoformat()}; Dagster run {context.run.run_id}.")
    latest = refresh_latest(run_dir, warehouse.analysis_reports_dir / "latest")
    metadata: dict[str, object] = {
        "report": dg.MetadataValue.path(str(output.html)),
        "latest": dg.MetadataValue.path(str(latest / output.html.name)),
        "figures": dg.MetadataValue.json(sorted(output.figures)),
        "missing_tables": dg.MetadataValue.json([t for t in ENDPOINT_TABLES if t not in tables]),
    }
    if "ep_binary" in tables:
        header, rows = binary_rows(tables["ep_binary"].filter(pl.col("ENDPOINT") == "ORR"), config.endpoints()["design"]["alpha_one_sided"])
        metadata["orr"] = dg.MetadataValue.md(markdown_table(header, rows))
    km = sorted(stem for stem in output.figures if stem.startswith("km_"))
    shown = ([("km_pfs_efffl" if "km_pfs_efffl" in km else km[0])] if km else []) + (["waterfall"] if "waterfall" in output.figures else [])
    for stem in shown:
        metadata[stem] = _image_md(stem, output.thumbnail(stem))
        metadata[f"{stem}_png"] = dg.MetadataValue.path(str(output.figures[stem].png))
    return dg.MaterializeResult(metadata=metadata)
