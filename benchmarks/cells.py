"""How much data a database holds, in cells (rows x columns) per schema.

Why: DuckDB writes a table at a roughly steady number of cells per second on this machine, so
the cells a load writes, against the cells the lower bound writes (the raw forms once), say
how far a layered load can come to the bound at all, whatever its code does. Views hold no
data and are not counted.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def cells_by_schema(database: Path) -> dict[str, int]:
    """``{schema: sum over its tables of count(*) x column count}`` of a DuckDB file (read-only)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name, column_count FROM duckdb_tables() "
            "WHERE database_name = current_database() ORDER BY 1, 2").fetchall()
        out: dict[str, int] = {}
        for schema, table, columns in tables:
            rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            out[schema] = out.get(schema, 0) + rows * columns
        return out
    finally:
        con.close()
