"""One way to turn a Pandera contract into a Dagster asset-check result (SDTM and ADaM).

The result carries the failures per column and check, and up to 20 example rows, as metadata,
so QA sees in the UI which rule broke and where without opening the warehouse. Severity is
ERROR; the checks that use it are ``blocking``, so nothing downstream of a broken table runs.

A large table is validated subject chunk by subject chunk (:func:`table_contract_result`, or
the caller adds chunks to a :class:`schemas.contracts.ContractTally`); the merged result has
the same metadata as validating the whole table at once.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import polars as pl

from assets.markdown import markdown_table
from pipeline.overlap import write_behind
from pipeline.warehouse_io import subject_frames
from schemas.contracts import ContractTally

CHECK_NAME = "contract"


def _label(model) -> str:
    return model.to_schema().title or model.__name__


def contract_result(model, frame: pl.DataFrame, *, asset_key=None) -> dg.AssetCheckResult:
    """Validate ``frame`` with ``model``: the check result, failures counted per column/check."""
    return tally_result(ContractTally(model).add(frame), asset_key=asset_key)


def table_contract_result(con: duckdb.DuckDBPyConnection, model, table: str, *, asset_key=None,
                          max_rows: int | None = None) -> dg.AssetCheckResult:
    """Validate warehouse table ``table`` with ``model``, one subject chunk at a time.

    Each chunk is validated on a background thread while the next one is read
    (:func:`pipeline.overlap.write_behind`): reading is about half the work (SDTM LB of 100,000
    subjects: 9.9 s of 17.2 s), and the two overlapped took 12.6 s."""
    tally = ContractTally(model)
    write_behind(subject_frames(con, table, max_rows=max_rows), tally.add)
    return tally_result(tally, asset_key=asset_key)


def tally_result(tally: ContractTally, *, asset_key=None) -> dg.AssetCheckResult:
    """The check result of a table validated whole or chunk by chunk."""
    model, counts = tally.model, tally.failure_counts()
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=CHECK_NAME,
        passed=tally.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "model": f"{model.__module__}.{model.__name__}",
            "dataset_label": _label(model),
            "rows": tally.rows,
            "failures": tally.failures,
            "failures_by_check": dg.MetadataValue.json({f"{c}: {k}": int(n) for c, k, n in counts}),
            "failures_table": dg.MetadataValue.md(markdown_table(
                ["column", "check", "failures"], ((c, f"`{k}`", n) for c, k, n in counts),
                empty="no failures")),
            "examples": dg.MetadataValue.md(markdown_table(
                ["column", "check", "value", "row"],
                ((c, f"`{k}`", str(v)[:60], i) for c, k, v, i in tally.examples),
                empty="no failures",
            )),
        },
    )
