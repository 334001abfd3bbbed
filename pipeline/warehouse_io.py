"""Moving frames between polars and the DuckDB warehouse, in one place.

Arrow is the hand-over format both ways, so no pandas copy is made of a large table.
"""

from __future__ import annotations

import duckdb
import polars as pl


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    return pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table())


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Replace ``schema.table`` with ``frame``; returns the row count written."""
    schema = table.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    arrow = frame.with_columns(pl.col(pl.Null).cast(pl.Utf8)).to_arrow()
    con.register("_frame_to_write", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame_to_write")
    finally:
        con.unregister("_frame_to_write")
    return frame.height
