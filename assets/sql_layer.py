"""Dagster assets made from the SQL models of one layer (``pipeline.sql_models``).

One asset per model file: key ``[layer, name]``, group = layer, dependencies drawn from its
``ref``/``source`` calls, description from its header comment, row count and column schema as
metadata. There is no hand-kept list: a new ``.sql`` file is a new asset.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline import sql_models


def _asset_for(model: sql_models.SqlModel, models: dict[str, sql_models.SqlModel]) -> dg.AssetsDefinition:
    deps = [dg.AssetKey([models[r].layer, r]) for r in model.refs] + [dg.AssetKey([s, t]) for s, t in model.sources]
    # a model reading no table (TA, TE: from the configuration) still writes into the working
    # file, which the first step of a load (raw/export) starts afresh: it must come after it
    deps = deps or [dg.AssetKey(["raw", "export"])]

    @dg.asset(
        key=[model.layer, model.name],
        group_name=model.layer,
        deps=deps,
        description=model.description,
        kinds={"duckdb", "sql"},
        metadata={"sql_file": dg.MetadataValue.path(str(model.path))},
    )
    def _asset(duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            rows, columns = sql_models.materialize(con, model, models)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(name=c, type=t) for c, t in columns]
                ),
            }
        )

    return _asset


def sql_layer_assets(layer: str, root=sql_models.SQL_ROOT) -> list[dg.AssetsDefinition]:
    models = sql_models.discover(root)
    return [_asset_for(m, models) for m in models.values() if m.layer == layer]
