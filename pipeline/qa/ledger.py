"""The findings ledger: every finding of every load, with a stable key and a status across loads.

A finding's key is ``RULE:SITE-SUBJECT:RECORD``. ``RECORD`` names the CRF row by its business
key, not its position in the file, so a later export with more rows keeps the keys of the
findings it still has: ``FORM|VISIT|VISITREP|FORMREP|IGREP|FIELD`` (repeat keys as delivered,
read from ``raw.<form>`` through the finding's lineage). Cross-table rules whose finding is
not one row set their own (``LESION|T01``, ``VS|CYCLE 2 DAY 1``). Two findings that would share
a key (a duplicate row with the same defect) get ``#2``, ``#3``... in file order.

Status, per key, at each load: ``new`` (not open at the previous load), ``persisting`` (open
then and now), ``resolved`` (open then, gone now; stays resolved until it comes back as new).
A data manager's acceptance (``trialwh findings accept KEY --comment ...``) is kept with the
key and survives every later load.

The ledger lives in ``<warehouse>/state/findings_ledger.parquet``, beside the load history
``qa_loads.parquet``, not in the working DuckDB file: a lost or rebuilt working file must not
reset what the data managers know. Each load writes the merged ledger back to the state folder
and into the working warehouse as ``qa.findings`` (what analysts see once published).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipeline.forms import FORMS
from pipeline.privacy import masked_select
from pipeline.validation.findings import FINDING_COLUMNS

LEDGER_FILE = "findings_ledger.parquet"
LOADS_FILE = "qa_loads.parquet"
NEW, PERSISTING, RESOLVED = "new", "persisting", "resolved"
OPEN = (NEW, PERSISTING)

#: ledger columns after the finding's own
LEDGER_COLUMNS: dict[str, pl.DataType] = {
    **FINDING_COLUMNS,
    "RECORD": pl.Utf8,
    "FINDING_KEY": pl.Utf8,
    "STATUS": pl.Utf8,
    "FIRST_LOAD": pl.Int64,
    "LAST_LOAD": pl.Int64,
    "RESOLVED_LOAD": pl.Int64,
    "ACCEPTED": pl.Boolean,
    "ACCEPT_COMMENT": pl.Utf8,
    "ACCEPTED_AT": pl.Utf8,
}
LOAD_COLUMNS: dict[str, pl.DataType] = {
    "LOAD_NO": pl.Int64, "RUN_ID": pl.Utf8, "LOADED_AT": pl.Utf8, "EXPORT": pl.Utf8,
    "N_NEW": pl.Int64, "N_PERSISTING": pl.Int64, "N_RESOLVED": pl.Int64, "N_OPEN": pl.Int64,
    "OPEN_ERROR": pl.Int64, "OPEN_WARN": pl.Int64, "OPEN_NOTICE": pl.Int64, "N_ACCEPTED": pl.Int64,
}


def _read(path: Path, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=schema)


def _write(frame: pl.DataFrame, path: Path) -> None:
    """Replace ``path`` atomically: a crash mid-write leaves the previous ledger."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, path)


def read_ledger(state_dir: Path) -> pl.DataFrame:
    return _read(Path(state_dir) / LEDGER_FILE, LEDGER_COLUMNS)


def read_loads(state_dir: Path) -> pl.DataFrame:
    return _read(Path(state_dir) / LOADS_FILE, LOAD_COLUMNS)


def keyed_findings_sql() -> str:
    """Current findings (``qa.findings_current`` + ``qa.findings_gx``) with RECORD and FINDING_KEY."""
    cols = ", ".join(FINDING_COLUMNS)
    raw_keys = " UNION ALL ".join(
        f"SELECT '{f}' AS FORM, SRC_FILE, CAST(SRC_ROW AS BIGINT) AS SRC_ROW, "
        f"trim(CAST(VISITREP AS VARCHAR)) AS VR, trim(CAST(FORMREP AS VARCHAR)) AS FR, trim(CAST(IGREP AS VARCHAR)) AS IR "
        f"FROM raw.{f.lower()}" for f in FORMS)
    return f"""
    WITH cur AS (
        SELECT {cols}, NULL::VARCHAR AS RECORD FROM qa.findings_current
        UNION ALL SELECT {cols}, RECORD FROM qa.findings_gx),
    raw_keys AS ({raw_keys}),
    recorded AS (
        SELECT c.* REPLACE (coalesce(c.RECORD, concat_ws('|', c.FORM, coalesce(c.VISIT, ''), coalesce(k.VR, ''),
                                     coalesce(k.FR, ''), coalesce(k.IR, CAST(c.SRC_ROW AS VARCHAR)), coalesce(c.FIELD, ''))) AS RECORD),
               c.RULE_ID || ':' || coalesce(c.SITEID, '') || '-' || coalesce(c.SUBJID, '') || ':' AS KEY_PREFIX
        FROM cur c LEFT JOIN raw_keys k ON k.FORM = c.FORM AND k.SRC_FILE = c.SRC_FILE AND k.SRC_ROW = c.SRC_ROW)
    SELECT * EXCLUDE (KEY_PREFIX),
           KEY_PREFIX || RECORD || CASE WHEN n > 1 THEN '#' || n ELSE '' END AS FINDING_KEY
    FROM (SELECT *, row_number() OVER (PARTITION BY KEY_PREFIX, RECORD ORDER BY SRC_FILE, SRC_ROW, MESSAGE) AS n
          FROM recorded)
    """


_SQL_TYPES = {pl.Utf8: "VARCHAR", pl.Int64: "BIGINT", pl.Boolean: "BOOLEAN"}


def _sql_type(dtype: pl.DataType) -> str:
    return next(sql for pl_type, sql in _SQL_TYPES.items() if dtype == pl_type)


def _previous_sql(path: Path) -> tuple[str, list]:
    """The previous ledger with the ledger's column types (none yet: an empty typed relation).

    Masked as it is read (``pipeline.privacy``): a ledger written by an older version of the
    code may quote identifier values in findings that are no longer open."""
    if path.exists():
        cols = ", ".join(f"CAST({c} AS {_sql_type(t)}) AS {c}" for c, t in LEDGER_COLUMNS.items())
        return f"SELECT {masked_select(list(LEDGER_COLUMNS))} FROM (SELECT {cols} FROM read_parquet(?))", [str(path)]
    cols = ", ".join(f"CAST(NULL AS {_sql_type(t)}) AS {c}" for c, t in LEDGER_COLUMNS.items())
    return f"SELECT {cols} WHERE false", []


def merge_sql(load_no: int) -> str:
    """The ledger after ``load_no`` from relations ``cur`` (keyed findings) and ``prev`` (the
    previous ledger), matched by key; columns :data:`LEDGER_COLUMNS` in order."""
    values = ", ".join(f"CASE WHEN c.FINDING_KEY IS NOT NULL THEN c.{k} ELSE p.{k} END AS {k}"
                       for k in [*FINDING_COLUMNS, "RECORD"])
    merged = f"""
        SELECT {values}, coalesce(c.FINDING_KEY, p.FINDING_KEY) AS FINDING_KEY,
               CASE WHEN c.FINDING_KEY IS NULL THEN '{RESOLVED}'
                    WHEN p.FINDING_KEY IS NULL OR p.STATUS = '{RESOLVED}' THEN '{NEW}'
                    ELSE '{PERSISTING}' END AS STATUS,
               coalesce(p.FIRST_LOAD, {load_no}) AS FIRST_LOAD,
               CASE WHEN c.FINDING_KEY IS NOT NULL THEN {load_no} ELSE p.LAST_LOAD END AS LAST_LOAD,
               CASE WHEN c.FINDING_KEY IS NOT NULL THEN NULL
                    WHEN p.STATUS = '{RESOLVED}' THEN p.RESOLVED_LOAD ELSE {load_no} END AS RESOLVED_LOAD,
               coalesce(p.ACCEPTED, false) AS ACCEPTED, p.ACCEPT_COMMENT, p.ACCEPTED_AT
        FROM cur c FULL OUTER JOIN prev p ON c.FINDING_KEY = p.FINDING_KEY"""
    typed = ", ".join(f"CAST({c} AS {_sql_type(t)}) AS {c}" for c, t in LEDGER_COLUMNS.items())
    return f"SELECT {typed} FROM ({merged}) ORDER BY STATUS = '{RESOLVED}', FORM, SITEID, SUBJID, FINDING_KEY"


def load_counts_sql(table: str, load_no: int) -> str:
    """One row of load-history counts over the ledger ``table``; a finding resolved at an earlier
    load is not counted as resolved again."""
    open_ = ", ".join(f"'{s}'" for s in OPEN)
    severities = ", ".join(f"count(*) FILTER (WHERE STATUS IN ({open_}) AND SEVERITY = '{s}') AS OPEN_{s}"
                           for s in ("ERROR", "WARN", "NOTICE"))
    return f"""
        SELECT count(*) FILTER (WHERE STATUS = '{NEW}') AS N_NEW,
               count(*) FILTER (WHERE STATUS = '{PERSISTING}') AS N_PERSISTING,
               count(*) FILTER (WHERE STATUS = '{RESOLVED}' AND coalesce(RESOLVED_LOAD = {load_no}, true)) AS N_RESOLVED,
               count(*) FILTER (WHERE STATUS IN ({open_})) AS N_OPEN, {severities},
               count(*) FILTER (WHERE STATUS IN ({open_}) AND ACCEPTED) AS N_ACCEPTED
        FROM {table}"""


def update(con: duckdb.DuckDBPyConnection, state_dir: Path, *, run_id: str, export: str,
           table: str = "qa.findings") -> int:
    """Merge this load's findings into the persistent ledger; returns the load number.

    The merge runs in DuckDB: the merged ledger becomes ``table`` and is copied to the state
    folder as Parquet, so no step holds the ledger (a million findings at 100,000 subjects) in
    Python. Only findings resolved *at this load* count as resolved in the load history; older
    resolved ones stay in the ledger (and ``qa.findings``) with their status.
    """
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    loads = read_loads(state_dir)
    load_no = int(loads["LOAD_NO"].max() or 0) + 1
    prev, params = _previous_sql(state_dir / LEDGER_FILE)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    con.execute(f"CREATE OR REPLACE TABLE {table} AS WITH cur AS ({keyed_findings_sql()}), prev AS ({prev}) "
                f"{merge_sql(load_no)}", params)
    counts = con.execute(load_counts_sql(table, load_no)).to_arrow_table().to_pylist()[0]
    row = {"LOAD_NO": load_no, "RUN_ID": run_id, "LOADED_AT": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "EXPORT": export, **counts}
    loads = pl.concat([loads, pl.DataFrame([row], schema=LOAD_COLUMNS)], how="vertical_relaxed")
    ledger_path = state_dir / LEDGER_FILE
    tmp = ledger_path.with_suffix(".tmp")
    con.execute(f"COPY {table} TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
    os.replace(tmp, ledger_path)
    _write(loads, state_dir / LOADS_FILE)
    return load_no


def accept(state_dir: Path, key: str, comment: str) -> dict:
    """Mark one finding accepted with the data manager's comment; returns its ledger row."""
    if not comment.strip():
        raise ValueError("an acceptance needs a comment saying why")
    ledger = read_ledger(state_dir)
    hit = ledger["FINDING_KEY"] == key
    if not hit.any():
        raise KeyError(f"no finding with key {key!r} in {Path(state_dir) / LEDGER_FILE}")
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ledger = ledger.with_columns(
        pl.when(hit).then(True).otherwise(pl.col("ACCEPTED")).alias("ACCEPTED"),
        pl.when(hit).then(pl.lit(comment)).otherwise(pl.col("ACCEPT_COMMENT")).alias("ACCEPT_COMMENT"),
        pl.when(hit).then(pl.lit(stamp)).otherwise(pl.col("ACCEPTED_AT")).alias("ACCEPTED_AT"),
    )
    _write(ledger, Path(state_dir) / LEDGER_FILE)
    return ledger.filter(hit).row(0, named=True)
