"""Direct identifiers stay out of the analyst warehouse.

The DM form carries the subject's initials, hospital record number and birth date
(``ops.privacy.identifiers`` in the trial configuration). They are needed to reconcile with the
site, never for analysis. A load keeps them in two places only, both under the warehouse
folder and readable by its owner alone: the working file ``build/trial.duckdb`` and
``restricted/identifiers.parquet``. The published warehouse and every data cut are built table
by table *without* those columns (a copy-then-drop would leave the values in freed blocks of
the file), and the validation findings about an identifier lose their raw value. Subjects are
known there only by their study-assigned pseudonyms (SUBJID, USUBJID) and AGE, the derived age.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipeline import config
from pipeline.warehouse_io import duckdb_settings

RESTRICTED_MODE = 0o700
WITHHELD = "identifier value withheld (restricted store)"
# Columns of finding / quarantine / query-listing tables that quote a raw value or a text built
# from it.
_FINDING_TEXT = ("RAW_VALUE", "MESSAGE", "VALUE", "QUESTION")


def identifiers() -> list[str]:
    return [c.upper() for c in config.ops()["privacy"]["identifiers"]]


def restrict(folder: Path) -> Path:
    """Create ``folder`` readable and writable by the warehouse owner only."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, RESTRICTED_MODE)
    return folder


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_list(columns: list[str], ids: list[str]) -> str:
    """The column list of a published table: identifiers dropped, findings about them masked."""
    names = {c.upper() for c in columns}
    masked_rows = None
    if "FIELD" in names:
        masked_rows = "FIELD IN (" + ", ".join(f"'{i}'" for i in ids) + ")"
    elif "QUARANTINE_REASON" in names:
        masked_rows = "regexp_matches(QUARANTINE_REASON, '\\b(" + "|".join(ids) + ")\\b')"
    out = []
    for col in columns:
        upper = col.upper()
        if upper in ids:
            continue
        if masked_rows and (upper in _FINDING_TEXT or upper == "QUARANTINE_REASON"):
            value = "NULL" if upper in ("RAW_VALUE", "VALUE") else f"'{WITHHELD}'"
            out.append(f"CASE WHEN {masked_rows} THEN {value} ELSE {_quoted(col)} END AS {_quoted(col)}")
        else:
            out.append(_quoted(col))
    return ", ".join(out)


def copy_without_identifiers(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """Create every table of the attached database ``source`` in ``con``'s own, minus identifiers.

    Rows keep their order, so two loads of the same export give identical tables.
    """
    ids = identifiers()
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1, 2", [source]
    ).fetchall()
    for schema, table in tables:
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ?"
            " ORDER BY column_index", [source, schema, table]).fetchall()]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quoted(schema)}")
        con.execute(
            f"CREATE TABLE {_quoted(schema)}.{_quoted(table)} AS "
            f"SELECT {_select_list(columns, ids)} FROM {_quoted(source)}.{_quoted(schema)}.{_quoted(table)}"
        )
    return [f"{s}.{t}" for s, t in tables]


def keep_identifiers(working: Path, restricted_dir: Path) -> Path:
    """Write the identifiers of the load (raw DM keys + identifier items) to the restricted store."""
    target = restrict(restricted_dir) / "identifiers.parquet"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    con = duckdb.connect(str(working), read_only=True, config=duckdb_settings())
    try:
        present = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'dm' ORDER BY column_index"
        ).fetchall() if c.upper() in identifiers()]
        cols = ", ".join(["STUDYID", "SITEID", "SUBJID", *(_quoted(c) for c in present)])
        con.execute(f"COPY (SELECT {cols} FROM raw.dm ORDER BY SITEID, SUBJID) TO '{tmp}' (FORMAT parquet)")
    finally:
        con.close()
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
