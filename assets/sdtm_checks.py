"""SDTM contracts: one blocking ``contract`` asset check per SDTM domain asset.

Each check reads ``sdtm.<domain>`` from the working DuckDB subject chunk by subject chunk
(``ops.scale.chunk_rows`` rows at a time; trial-level domains such as TS whole), validates it
lazily against its Pandera model (``schemas.sdtm.SDTM_MODELS``) and reports the failures per
column and check, merged over the chunks, as metadata. A failure has severity ERROR and the check is ``blocking``: Dagster then skips every
asset downstream of that domain in the run (``sdtm/exports``, ``warehouse/published``, ADaM), so
a table that breaks its contract is never exported or published.

The checks are built from the SDTM model assets (``assets.sdtm.sdtm_assets``): a new
``dbt_like_sql/sdtm/<domain>.sql`` with a model in ``SDTM_MODELS`` gets its check with no edit
here; ``int_*`` models and domains without a model get none.
"""

from __future__ import annotations

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from assets.contracts import CHECK_NAME, table_contract_result
from assets.contracts import contract_result as check_contract
from assets.sdtm import sdtm_assets
from schemas.sdtm import SDTM_MODELS, dataset_label


def is_domain_key(key: dg.AssetKey) -> bool:
    """An SDTM domain table (not an ``int_*`` intermediate model)."""
    return len(key.path) == 2 and key.path[0] == "sdtm" and not key.path[1].startswith("int_")


def domain_asset_keys(assets_defs=None) -> list[dg.AssetKey]:
    keys = [k for a in (sdtm_assets if assets_defs is None else assets_defs) for k in a.keys]
    return sorted((k for k in keys if is_domain_key(k)), key=lambda k: k.path[1])


def contract_result(name: str, frame: pl.DataFrame) -> dg.AssetCheckResult:
    """Validate one domain frame with its model (``schemas.sdtm.SDTM_MODELS``)."""
    return check_contract(SDTM_MODELS[name], frame)


def contract_check(key: dg.AssetKey) -> dg.AssetChecksDefinition:
    name = key.path[-1]
    table = ".".join(key.path)
    model = SDTM_MODELS[name]

    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        blocking=True,
        description=f"{dataset_label(model)} ({name.upper()}) conforms to schemas.sdtm.{model.__name__}: "
        "required variables, types, controlled terms, key uniqueness (sdtm.md).",
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return table_contract_result(con, model, table)

    return _check


def build_contract_checks(assets_defs=None) -> list[dg.AssetChecksDefinition]:
    return [contract_check(k) for k in domain_asset_keys(assets_defs) if k.path[-1] in SDTM_MODELS]


sdtm_contract_checks = build_contract_checks()
