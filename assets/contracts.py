"""One way to turn a Pandera contract into a Dagster asset-check result (SDTM and ADaM).

The result carries the failures per column and check, and up to 20 example rows, as metadata,
so QA sees in the UI which rule broke and where without opening the warehouse. Severity is
ERROR; the checks that use it are ``blocking``, so nothing downstream of a broken table runs.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.markdown import markdown_table
from schemas.contracts import failure_counts, validate_contract

CHECK_NAME = "contract"


def _label(model) -> str:
    return model.to_schema().title or model.__name__


def contract_result(model, frame: pl.DataFrame, *, asset_key=None) -> dg.AssetCheckResult:
    """Validate ``frame`` with ``model``: the check result, failures counted per column/check."""
    cases = validate_contract(model, frame)
    counts = failure_counts(cases)
    by_check = {f"{c}: {k}": int(n) for c, k, n in counts.iter_rows()}
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=CHECK_NAME,
        passed=cases.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "model": f"{model.__module__}.{model.__name__}",
            "dataset_label": _label(model),
            "rows": frame.height,
            "failures": cases.height,
            "failures_by_check": dg.MetadataValue.json(by_check),
            "failures_table": dg.MetadataValue.md(markdown_table(
                ["column", "check", "failures"], ((c, f"`{k}`", n) for c, k, n in counts.iter_rows()),
                empty="no failures")),
            "examples": dg.MetadataValue.md(markdown_table(
                ["column", "check", "value", "row"],
                ((c, f"`{k}`", str(v)[:60], i) for c, k, v, i in cases.head(20).iter_rows()),
                empty="no failures",
            )),
        },
    )
