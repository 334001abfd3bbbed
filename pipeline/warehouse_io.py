"""Moving frames between polars and the DuckDB warehouse, in one place.

Arrow is the hand-over format both ways, so no pandas copy is made of a large table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa


#: rows of a DuckDB row group (its default ``row_group_size``)
ROW_GROUP_ROWS = 122_880


def read_table(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    return pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table())


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame | pa.Table) -> int:
    """Replace ``schema.table`` with ``frame``; returns the row count written."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    return _from_frame(con, f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame_to_write", frame)


def to_arrow(frame: pl.DataFrame | pa.Table) -> pa.Table:
    """``frame`` as the Arrow table DuckDB reads (all-null columns as text).

    Polars text columns become Arrow ``large_string``: a copy of just their own values, where
    a polars text column may share the buffers of the larger frame it was cut from."""
    if isinstance(frame, pa.Table):
        return frame
    return frame.with_columns(pl.col(pl.Null).cast(pl.Utf8)).to_arrow()


def in_row_groups(arrow: pa.Table, rows: int = ROW_GROUP_ROWS) -> pa.Table:
    """``arrow`` as record batches of one DuckDB row group each (the last may be shorter).

    Why: DuckDB writes an Arrow table with one thread per record batch. A batch that ends
    inside a row group leaves every thread a partial row group, which DuckDB writes once and
    then merges and writes again at the next checkpoint: a polars frame cut from six subject
    chunks (ADLB of 100,000 subjects, 983,040 rows) took 3.7 s to insert and 3.8 s more to
    checkpoint, against 3.4 s in all with batches of whole row groups. Combining the chunks
    copies the table once when it has more than one.
    """
    return pa.Table.from_batches(arrow.combine_chunks().to_batches(max_chunksize=rows), schema=arrow.schema)


def _from_frame(con: duckdb.DuckDBPyConnection, sql: str, frame: pl.DataFrame | pa.Table) -> int:
    """Run ``sql``, which reads the frame as ``_frame_to_write`` (Arrow, in whole row groups:
    :func:`in_row_groups`)."""
    arrow = in_row_groups(to_arrow(frame))
    con.register("_frame_to_write", arrow)
    try:
        con.execute(sql)
    finally:
        con.unregister("_frame_to_write")
    return arrow.num_rows


@dataclass(frozen=True)
class SubjectChunk:
    """Subjects ``lo <= key < hi`` of a table (open ends are None); the first chunk also
    holds the rows whose key is null, so every row belongs to exactly one chunk."""

    lo: object | None
    hi: object | None

    def predicate(self, key_sql: str) -> tuple[str, list]:
        """SQL condition on ``key_sql`` and its parameters."""
        parts, params = [], []
        if self.lo is not None:
            parts.append(f"({key_sql}) >= ?")
            params.append(self.lo)
        if self.hi is not None:
            parts.append(f"({key_sql}) < ?")
            params.append(self.hi)
        cond = " AND ".join(parts) or "TRUE"
        if self.lo is None:
            cond = f"(({key_sql}) IS NULL OR {cond})"
        return cond, params


def duckdb_settings() -> dict:
    """Settings of every DuckDB connection a load opens on a warehouse file (``ops.scale``).

    DuckDB's default buffer pool is 80% of the machine's memory; a load holds one bounded pool
    instead (DuckDB spills beyond it), so the process stays within its budget at any trial size.
    """
    from pipeline import config

    scale = config.ops()["scale"]
    return {"threads": scale["duckdb_threads"], "memory_limit": scale["duckdb_memory_limit"]}


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[None]:
    """DuckDB's buffer pool set to ``limit`` for the duration (None: unchanged), then back to
    the load's own (:func:`duckdb_settings`; DuckDB reports the current one rounded, so it is
    not read back).

    Why: the pool is shared by the whole database instance and fills with cached blocks up to
    its limit. A step whose DuckDB work is reading chunks and appending them needs little of
    it, and the memory it frees is the memory of that step's python-side frames."""
    if limit is None:
        yield
        return
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{duckdb_settings()['memory_limit']}'")


def chunk_rows() -> int:
    """Rows a python-side layer takes at once (``ops.scale.chunk_rows``)."""
    from pipeline import config

    return int(config.ops()["scale"]["chunk_rows"])


def subject_chunks(con: duckdb.DuckDBPyConnection, tables: list[str], key_sql: str = "USUBJID",
                   max_rows: int | None = None) -> list[SubjectChunk]:
    """Split the subjects of ``tables`` into ranges of the sorted key holding about
    ``max_rows`` rows (all tables together) each.

    Why: the python-side layers (Pandera validation, polars derivations) need whole subjects at
    once but not the whole trial; reading subject ranges bounds their memory by the chunk, not
    by the trial, and keeps each table's output ordered by subject. A subject is never split,
    so a chunk can exceed ``max_rows`` by one subject's rows. ``key_sql`` is evaluated in every
    table (``USUBJID``, or an expression over raw columns); one chunk covers everything when
    the tables are small, which keeps small trials on one code path.
    """
    max_rows = chunk_rows() if max_rows is None else max_rows
    per_table = " UNION ALL ".join(f"SELECT ({key_sql}) AS k, count(*) AS n FROM {t} GROUP BY 1" for t in tables)
    counts = con.execute(f"SELECT k, sum(n) AS n FROM ({per_table}) GROUP BY k ORDER BY k NULLS FIRST").fetchall()
    bounds: list[object] = []
    running = 0
    for key, n in counts:
        if running and running + n > max_rows and key is not None:
            bounds.append(key)
            running = 0
        running += n
    edges = [None, *bounds, None]
    return [SubjectChunk(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]


def read_chunk(con: duckdb.DuckDBPyConnection, table: str, chunk: SubjectChunk, key_sql: str = "USUBJID",
               columns: str = "*", order_by: str | None = None) -> pl.DataFrame:
    """The rows of ``table`` in ``chunk`` (``columns``: a SELECT list) as polars."""
    cond, params = chunk.predicate(key_sql)
    order = f" ORDER BY {order_by}" if order_by else ""
    return pl.from_arrow(con.execute(f"SELECT {columns} FROM {table} WHERE {cond}{order}", params).to_arrow_table())


def row_spans(con: duckdb.DuckDBPyConnection, table: str, chunks: list[SubjectChunk],
              key_sql: str = "USUBJID") -> list[tuple[int, int]] | None:
    """First and last row id of each chunk's rows in ``table`` (``(0, -1)``: no rows), when the
    rows of every chunk lie together; None when they do not, or for one chunk (read whole).

    Why: a chunk read as a range of row ids reads only its own row groups, where a read by key
    range scans the key column of the whole table for every chunk (ADaM at 100,000 subjects:
    29 s of reading SDTM by key range, 14 s by row ids). Tables written in key order (every
    SDTM domain, an export delivered subject by subject) qualify; rows of one chunk found apart
    (a table ordered otherwise, gaps left by a DELETE) fall back to the key.
    """
    if len(chunks) == 1:
        return None
    per_key = pl.from_arrow(con.sql(
        f"SELECT ({key_sql}) AS k, count(*) AS n, min(rowid) AS lo, max(rowid) AS hi FROM {table} GROUP BY k"
    ).to_arrow_table())
    if per_key.is_empty():
        return [(0, -1)] * len(chunks)
    dtype = per_key["k"].dtype
    bounds = pl.Series([c.lo for c in chunks[1:]], dtype=dtype)
    # a key's chunk: the number of chunk starts at or below it; null keys are in the first
    chunk = pl.Series("chunk", bounds.search_sorted(per_key["k"], side="right"))
    per_key = per_key.with_columns(pl.when(pl.col("k").is_null()).then(0).otherwise(chunk).alias("chunk"))
    # keys outside every chunk (``chunks`` need not cover the table) are not read
    edges = pl.DataFrame({"chunk": pl.Series(range(len(chunks)), dtype=per_key["chunk"].dtype),
                          "_lo": pl.Series([c.lo for c in chunks], dtype=dtype),
                          "_hi": pl.Series([c.hi for c in chunks], dtype=dtype)})
    k, lo, hi = pl.col("k"), pl.col("_lo"), pl.col("_hi")
    inside = pl.when(k.is_null()).then(lo.is_null()).otherwise((lo.is_null() | (k >= lo)) & (hi.is_null() | (k < hi)))
    spans = (
        per_key.join(edges, on="chunk").filter(inside)
        .group_by("chunk").agg(pl.col("n").sum(), pl.col("lo").min(), pl.col("hi").max())
    )
    if (spans["hi"] - spans["lo"] + 1 != spans["n"]).any():
        return None
    found = {c: (lo, hi) for c, lo, hi in spans.select("chunk", "lo", "hi").iter_rows()}
    return [found.get(i, (0, -1)) for i in range(len(chunks))]


def read_chunks(con: duckdb.DuckDBPyConnection, table: str, chunks: list[SubjectChunk], key_sql: str = "USUBJID",
                columns: str = "*", order_by: str | None = None) -> Iterator[pl.DataFrame]:
    """:func:`read_chunk` of every chunk in turn: the same rows in the same order, read by row-id
    range when :func:`row_spans` finds each chunk's rows together."""
    spans = row_spans(con, table, chunks, key_sql)
    order = f" ORDER BY {order_by}" if order_by else ""
    for i, chunk in enumerate(chunks):
        if spans is None:
            yield read_chunk(con, table, chunk, key_sql=key_sql, columns=columns, order_by=order_by)
        else:
            yield pl.from_arrow(con.execute(
                f"SELECT {columns} FROM {table} WHERE rowid BETWEEN ? AND ?{order}", list(spans[i])).to_arrow_table())


def append_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame | pa.Table, *, first: bool) -> int:
    """Write the first chunk of ``table`` (replacing it) or append a later one.

    Columns are matched by name, so a chunk whose all-null column came out with another type
    still lands; a chunk must not bring new columns.
    """
    if first:
        return write_table(con, table, frame)
    return _from_frame(con, f"INSERT INTO {table} BY NAME SELECT * FROM _frame_to_write", frame)


def table_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """Column names, in order, of a table (``schema.table``) or a registered frame; no row is read."""
    return list(con.sql(f"SELECT * FROM {relation} LIMIT 0").columns)


def subject_frames(con: duckdb.DuckDBPyConnection, table: str, key: str = "USUBJID", max_rows: int | None = None):
    """``table`` as polars frames of whole subjects (:func:`subject_chunks`), in key order; a
    table without the ``key`` column (a trial-level domain such as TS) as one frame."""
    if key not in table_columns(con, table):
        yield read_table(con, table)
        return
    yield from read_chunks(con, table, subject_chunks(con, [table], key_sql=key, max_rows=max_rows), key_sql=key)


class ChunkedTable:
    """One warehouse table written chunk by chunk, with one schema for all chunks.

    Why: a subject chunk may hold no row of a table (no AE among its subjects) or a column
    that is all null and so typed differently; the table is created from the first chunk with
    rows (all-null columns as text, as :func:`write_table` does), and every later chunk is cast
    to that schema and column order. A chunk bringing a column the table lacks is an error. If
    no chunk had rows, :meth:`close` writes the first (empty) chunk, so the table still exists.

    Writes go to DuckDB in whole row groups (``row_group_rows``): chunks are held until they
    fill at least one, the whole row groups are written and the rest waits for the next chunk
    (or :meth:`close`). An insert that ends inside a row group leaves it partial and the next
    insert rewrites it; appending chunks as they came cost about twice the time of writing the
    same rows in whole row groups (ADaM of 10,000 subjects: 9.8 s against 5.0 s). Rows keep
    their order; the table holds every row once :meth:`close` has run.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, row_group_rows: int = ROW_GROUP_ROWS):
        self.con, self.table, self.row_group_rows = con, table, row_group_rows
        self.schema: pl.Schema | None = None
        self.empty: pl.DataFrame | None = None
        self.rows = 0
        self._pending: list[pa.Table] = []  # Arrow: a held chunk pins no buffer of the frame it came from
        self._pending_rows = 0
        self._created = False

    def append(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Take ``frame``; returns it as it is written (the table's types and column order)."""
        if self.schema is None:
            if frame.is_empty():
                self.empty = frame if self.empty is None else self.empty
                return frame
            frame = frame.with_columns(pl.col(pl.Null).cast(pl.Utf8))
            self.schema = frame.schema
        else:
            frame = conform(frame, self.schema, self.table)
        self.rows += frame.height
        if frame.height:
            self._pending.append(to_arrow(frame))
            self._pending_rows += frame.height
            if self._pending_rows >= self.row_group_rows:
                self._write(whole_row_groups=True)
        return frame

    def _write(self, *, whole_row_groups: bool) -> None:
        """Write the pending rows: as many whole row groups as they fill, or all of them."""
        pending = pa.concat_tables(self._pending)
        n = pending.num_rows - pending.num_rows % self.row_group_rows if whole_row_groups else pending.num_rows
        append_table(self.con, self.table, pending.slice(0, n), first=not self._created)
        self._created = True
        # the rest as a copy of its own rows: a slice would hold on to the whole chunk it is cut from
        rest = pending.slice(n).take(pa.array(range(pending.num_rows - n), pa.int64()))
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def close(self) -> int:
        """Write what is pending; rows written. Creates the (empty) table when no chunk had rows."""
        if self._pending:
            self._write(whole_row_groups=False)
        elif self.schema is None and self.empty is not None:
            write_table(self.con, self.table, self.empty)
        return self.rows


def conform(frame: pl.DataFrame, schema: pl.Schema, table: str = "table") -> pl.DataFrame:
    """``frame`` with exactly the columns, order and types of ``schema`` (absent -> null)."""
    extra = [c for c in frame.columns if c not in schema]
    if extra:
        raise ValueError(f"{table}: a chunk has columns the table lacks: {extra}")
    return frame.select([
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in schema.items()
    ])
