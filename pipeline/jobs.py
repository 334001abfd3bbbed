"""Jobs. ``nightly_load`` materialises the whole graph: raw -> stg -> qa -> publish."""

import dagster as dg

nightly_load = dg.define_asset_job(
    "nightly_load",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load the EDC export, validate it, and publish the analyst warehouse.",
)
