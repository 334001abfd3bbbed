"""Validation of a raw form table in the warehouse, in subject chunks (issue 8: 100,000 subjects).

``validate_table`` reads ``raw.<form>`` a range of subjects at a time, validates each range
with ``validate_rows`` and appends the results to ``validation.<form>``, ``quarantine.<form>``
and ``qa.findings_<form>``, so memory is bounded by the chunk (``ops.scale.chunk_rows`` rows),
not by the trial. ``stg.<form>``, the accepted rows, is a view over ``validation.<form>`` (its
rows not QUARANTINED, without that flag): the typed rows are written once, not twice (writing
them was most of the time of validating LB at 100,000 subjects).

Why chunks by subject are exact: every check of ``validate_rows`` looks at one row or at the
rows of one subject (duplicates and record keys include SUBJID; the lesion checks rank within a
subject; KEY01 asks DM, read once per form). The chunk key is the integer value of the raw
SUBJID, so every spelling of one padded subject ('7', '07', '007', ' 7 ') lands in the same
chunk, and values that are not numbers ride with the nulls in the first chunk. When each chunk's
rows lie together in the delivered table (an export written subject by subject), a chunk is
read as a range of row ids (``pipeline.warehouse_io.read_chunks``); otherwise by its key range.
A chunk's results are written on a background thread while the next chunk is validated
(``pipeline.overlap.write_behind``): at 100,000 subjects, writing was half the time of LB.

Order: ``validation`` (the large table) is appended chunk after chunk, each chunk in delivery
order; subjects come in order of their numeric SUBJID, and with one chunk (any trial below
``chunk_rows`` rows) the order is the delivery order. ``quarantine`` and the findings (small)
are put into one global order at the end, in DuckDB: quarantine by delivered row, findings by
SRC_ROW, RULE_ID, FIELD, delivered row, so they come out the same however the trial was cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipeline.privacy import IdentifierItems
from pipeline.overlap import write_behind
from pipeline.validation.form_validation import FormResult, ValidationContext, validate_rows
from pipeline.validation.normalise import pad_subjid
from pipeline.warehouse_io import ChunkedTable, read_chunks, subject_chunks

#: chunk key of a raw row: the number in SUBJID, the same for every zero-padding of it
SUBJECT_KEY_SQL = "TRY_CAST(trim(SUBJID) AS BIGINT)"


@dataclass(frozen=True)
class TableCounts:
    """Reconciliation of one form over all chunks."""

    rows_in: int  # count(*) of raw.<form>
    rows_validated: int  # rows the chunks held together (must equal rows_in)
    accepted: int  # count(*) of stg.<form> (the view)
    quarantined: int  # count(*) of quarantine.<form>
    chunks: int

    @property
    def reconciled(self) -> bool:
        return self.rows_in == self.rows_validated == self.accepted + self.quarantined


def dm_subjects(con: duckdb.DuckDBPyConnection) -> pl.Series:
    """Padded SUBJIDs of raw.dm (KEY01), read once per form rather than once per chunk."""
    subjid = pl.from_arrow(con.sql("SELECT DISTINCT SUBJID FROM raw.dm").to_arrow_table())["SUBJID"]
    return subjid.to_frame().select(pad_subjid(pl.col("SUBJID"))).to_series().drop_nulls().unique().sort()


def validate_table(con: duckdb.DuckDBPyConnection, form_name: str, data_cutoff: date,
                   max_rows: int | None = None, restricted_dir: Path | None = None) -> TableCounts:
    """Validate ``raw.<form>`` into the validation, quarantine and qa.findings tables and the
    ``stg.<form>`` view of the accepted rows.

    DM's identifier items are not in ``raw.dm``: they come from the restricted store in
    ``restricted_dir`` for the validation and never reach a table (``pipeline.privacy``)."""
    table = form_name.lower()
    identifiers = IdentifierItems.of(form_name, restricted_dir)
    raw = f"raw.{table}"
    ctx = ValidationContext(data_cutoff, None if form_name == "DM" else dm_subjects(con))
    chunks = subject_chunks(con, [raw], key_sql=SUBJECT_KEY_SQL, max_rows=max_rows)
    out = con.cursor()  # the writes run on a background thread (write_behind), on their own cursor
    try:
        candidates, quarantine, findings = (ChunkedTable(out, name) for name in (
            f"validation.{table}", f"quarantine.{table}", f"qa.findings_{table}"))
        validated = 0

        def results():
            nonlocal validated
            for rows in read_chunks(con, raw, chunks, key_sql=SUBJECT_KEY_SQL, columns="rowid AS _ROW, *",
                                    order_by="rowid"):
                result = identifiers.strip(validate_rows(form_name, identifiers.attach(rows), ctx))
                validated += result.rows_in
                yield result

        def write(result: FormResult) -> None:
            candidates.append(result.candidates.drop("_ROW"))
            quarantine.append(result.quarantine)
            findings.append(result.findings)

        write_behind(results(), write)
        for written in (candidates, quarantine, findings):
            written.close()
    finally:
        out.close()
    accepted_view(con, table)
    _reorder(con, f"quarantine.{table}", "_ROW", drop="_ROW")
    _reorder(con, f"qa.findings_{table}", "SRC_ROW, RULE_ID, FIELD, _ROW, _SEQ", drop="_ROW, _SEQ")
    count = lambda t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: E731
    return TableCounts(count(raw), validated, count(f"stg.{table}"), count(f"quarantine.{table}"), len(chunks))


def accepted_view(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """``stg.<table>``: the rows of ``validation.<table>`` not quarantined, in its order, without
    the flag; exactly what ``validate_rows`` accepts. Replaces a table of that name (a working
    file from before stg was a view)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS stg")
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'stg' AND table_name = ?", [table]).fetchone()
    if kind is not None and kind[0] == "BASE TABLE":
        con.execute(f"DROP TABLE stg.{table}")
    con.execute(f"CREATE OR REPLACE VIEW stg.{table} AS "
                f"SELECT * EXCLUDE (QUARANTINED) FROM validation.{table} WHERE NOT QUARANTINED")


def _reorder(con: duckdb.DuckDBPyConnection, table: str, order_by: str, *, drop: str) -> None:
    """Rewrite a small table in one global order, without its ordering columns."""
    keys = ", ".join(f"{k.strip()} NULLS FIRST" for k in order_by.split(","))
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * EXCLUDE ({drop}) FROM {table} ORDER BY {keys}")
