"""Endpoint statistics (group ``endpoints``): every ``endpoints.ep_*`` table of endpoints.md
§5 (plus ep_decision, ep_tte_censor, ep_ttr, ep_lab_worst, ep_lab_visit, ep_historical),
from the ADaM tables of the working warehouse: only the columns and rows each table needs
are read, ADLB is summarised in DuckDB SQL (pipeline/endpoints/inputs.py, lab.py).

One multi-asset runs :func:`pipeline.endpoints.build.derive_endpoints` (the same function
``trialwh adam`` runs) and writes schema ``endpoints``. A table whose ADaM source is absent is
dropped from the warehouse and reports 0 rows. Metadata: row counts, and Markdown tables of
the key results (ORR with exact CI and p-value on ep_binary, medians with CI on ep_tte).
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.adam import ADAM_DATASETS
from assets.markdown import markdown_table
from pipeline.endpoints.build import ENDPOINT_TABLES, derive_from_warehouse
from pipeline.endpoints.populations import NUM
from pipeline.warehouse_io import write_table

ADAM_KEYS = [dg.AssetKey(["adam", name]) for name in ADAM_DATASETS]


def _fmt(v, digits: int = 1, scale: float = 1.0) -> str:
    return "NE" if v is None else f"{v * scale:.{digits}f}"


def binary_markdown(ep_binary) -> str:
    """ORR / DCR / CBR: n/N, %, exact 95% CI, one-sided p vs H0."""
    rows = [(r["ENDPOINT"], r["POPULATION"], f"{r[NUM]}/{r['N']}", _fmt(r["PCT"]),
             f"{_fmt(r['CI_LO'], scale=100)}-{_fmt(r['CI_HI'], scale=100)}", _fmt(r["P_VALUE"], 4) if r["P_VALUE"] is not None else "")
            for r in ep_binary.iter_rows(named=True)]
    return markdown_table(["endpoint", "population", "n/N", "%", "95% CI (exact)", "p (one-sided)"], rows)


def tte_markdown(ep_tte, conftype: str) -> str:
    """Median (95% CI) in months per endpoint x population for the default CI transform."""
    rows = [(r["ENDPOINT"], r["POPULATION"], f"{r['N_EVENT']}/{r['N']}", _fmt(r["MEDIAN_M"]),
             f"{_fmt(r['MEDIAN_LO_M'])}-{_fmt(r['MEDIAN_HI_M'])}", r["CONFTYPE"])
            for r in ep_tte.filter(ep_tte["CONFTYPE"] == conftype).iter_rows(named=True)]
    return markdown_table(["endpoint", "population", "events/N", "median (months)", "95% CI", "CI transform"], rows)


@dg.multi_asset(
    specs=[dg.AssetSpec(["endpoints", name], group_name="endpoints", deps=ADAM_KEYS, kinds={"duckdb", "polars"},
                        description=f"endpoints.{name} (endpoints.md §5)") for name in ENDPOINT_TABLES],
    name="endpoint_tables",
)
def endpoint_tables(duckdb: DuckDBResource):
    from pipeline.config import endpoints as endpoint_config

    with duckdb.get_connection() as con:
        frames = derive_from_warehouse(con)
        for name in ENDPOINT_TABLES:
            if name in frames:
                write_table(con, f"endpoints.{name}", frames[name])
            else:
                con.execute(f"DROP TABLE IF EXISTS endpoints.{name}")
    markdown = {}
    if "ep_binary" in frames:
        markdown["ep_binary"] = binary_markdown(frames["ep_binary"])
    if "ep_tte" in frames:
        markdown["ep_tte"] = tte_markdown(frames["ep_tte"], endpoint_config()["conftype"])
    for name in ENDPOINT_TABLES:
        meta = {"dagster/row_count": frames[name].height if name in frames else 0}
        if name in markdown:
            meta["key_results"] = dg.MetadataValue.md(markdown[name])
        yield dg.MaterializeResult(asset_key=["endpoints", name], metadata=meta)
