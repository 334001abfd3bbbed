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


def merge(current: pl.DataFrame, previous: pl.DataFrame, load_no: int) -> pl.DataFrame:
    """The ledger after ``load_no``: current findings against the previous ledger, by key."""
    con = duckdb.connect()
    try:
        con.register("cur", current.to_arrow())
        con.register("prev", previous.cast(LEDGER_COLUMNS).to_arrow())
        values = ", ".join(f"CASE WHEN c.FINDING_KEY IS NOT NULL THEN c.{k} ELSE p.{k} END AS {k}"
                           for k in [*FINDING_COLUMNS, "RECORD"])
        frame = pl.from_arrow(con.sql(f"""
            SELECT {values}, coalesce(c.FINDING_KEY, p.FINDING_KEY) AS FINDING_KEY,
                   CASE WHEN c.FINDING_KEY IS NULL THEN '{RESOLVED}'
                        WHEN p.FINDING_KEY IS NULL OR p.STATUS = '{RESOLVED}' THEN '{NEW}'
                        ELSE '{PERSISTING}' END AS STATUS,
                   coalesce(p.FIRST_LOAD, {load_no}) AS FIRST_LOAD,
                   CASE WHEN c.FINDING_KEY IS NOT NULL THEN {load_no} ELSE p.LAST_LOAD END AS LAST_LOAD,
                   CASE WHEN c.FINDING_KEY IS NOT NULL THEN NULL
                        WHEN p.STATUS = '{RESOLVED}' THEN p.RESOLVED_LOAD ELSE {load_no} END AS RESOLVED_LOAD,
                   coalesce(p.ACCEPTED, false) AS ACCEPTED, p.ACCEPT_COMMENT, p.ACCEPTED_AT
            FROM cur c FULL OUTER JOIN prev p ON c.FINDING_KEY = p.FINDING_KEY
            ORDER BY STATUS = '{RESOLVED}', FORM, SITEID, SUBJID, FINDING_KEY""").to_arrow_table())
    finally:
        con.close()
    return frame.cast(LEDGER_COLUMNS).select(list(LEDGER_COLUMNS))


def load_counts(ledger: pl.DataFrame) -> dict[str, int]:
    status = ledger["STATUS"]
    open_ = ledger.filter(pl.col("STATUS").is_in(OPEN))
    return {
        "N_NEW": int((status == NEW).sum()), "N_PERSISTING": int((status == PERSISTING).sum()),
        "N_RESOLVED": int((status == RESOLVED).sum()),
        "N_OPEN": open_.height,
        **{f"OPEN_{s}": int((open_["SEVERITY"] == s).sum()) for s in ("ERROR", "WARN", "NOTICE")},
        "N_ACCEPTED": int(open_["ACCEPTED"].sum() or 0),
    }


def update(con: duckdb.DuckDBPyConnection, state_dir: Path, *, run_id: str, export: str) -> tuple[int, pl.DataFrame]:
    """Merge this load's findings into the persistent ledger; returns (load number, ledger).

    Only findings resolved *at this load* count as resolved in the load history; older
    resolved ones stay in the ledger (and ``qa.findings``) with their status.
    """
    state_dir = Path(state_dir)
    loads = read_loads(state_dir)
    load_no = int(loads["LOAD_NO"].max() or 0) + 1
    current = pl.from_arrow(con.sql(keyed_findings_sql()).to_arrow_table())
    ledger = merge(current, read_ledger(state_dir), load_no)
    counts = load_counts(ledger.with_columns(
        pl.when((pl.col("STATUS") == RESOLVED) & (pl.col("RESOLVED_LOAD") != load_no))
        .then(pl.lit("resolved_before")).otherwise(pl.col("STATUS")).alias("STATUS")))
    row = {"LOAD_NO": load_no, "RUN_ID": run_id, "LOADED_AT": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "EXPORT": export, **counts}
    loads = pl.concat([loads, pl.DataFrame([row], schema=LOAD_COLUMNS)], how="vertical_relaxed")
    _write(ledger, state_dir / LEDGER_FILE)
    _write(loads, state_dir / LOADS_FILE)
    return load_no, ledger


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
