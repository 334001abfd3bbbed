"""Deriving ADaM from the SDTM schema of a DuckDB warehouse, one subject chunk at a time.

Why: :func:`pipeline.adam.build.derive_adam` holds its inputs and outputs in memory; over the
whole of a 100,000-subject trial that is tens of GB. Every derivation in ``pipeline.adam``
looks at one subject at a time (sorts, windows and group-bys are keyed by USUBJID; the only
whole-trial decision, whether ADEX has parameters, is taken once here from per-chunk counts),
so running it on subject ranges (:func:`pipeline.warehouse_io.subject_chunks`) gives the same
records, in the same order, with memory bounded by ``ops.scale.adam_chunk_rows``.

Trial-level domains (no USUBJID: TS, TA, TE ...) are read whole once and given to every chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import polars as pl

from pipeline.adam.build import EXPOSURE_COLUMNS, derive_adam, exposure_completeness, exposure_params_computable
from pipeline.warehouse_io import SubjectChunk, read_chunks, read_table, subject_chunks, table_columns

KEY = "USUBJID"


def adam_chunk_rows() -> int:
    """SDTM rows (all subject-level domains together) the ADaM layer derives at once
    (``ops.scale.adam_chunk_rows``).

    Why its own setting: deriving a chunk has a fixed cost (planning the polars expressions,
    one scan of every SDTM table to cut the chunk, one DuckDB insert per dataset) that a
    larger chunk spreads over more subjects; memory (inputs, intermediates and outputs of one
    chunk, plus the results of the previous chunk being written) bounds how large it can be.
    """
    from pipeline import config

    return int(config.ops()["scale"]["adam_chunk_rows"])


def adam_duckdb_memory_limit() -> str | None:
    """DuckDB buffer pool while ADaM derives (``ops.scale.adam_duckdb_memory_limit``; absent:
    the load's own). At 100,000 subjects the ADaM step holds the load's peak memory; its DuckDB
    side (reading SDTM chunks, appending ADaM) ran as fast with 300 MB of pool as with 1.5 GB
    (500 MB is set, a margin)."""
    from pipeline import config

    return config.ops()["scale"].get("adam_duckdb_memory_limit")


def split_domains(con: duckdb.DuckDBPyConnection, domains: list[str], schema: str = "sdtm") -> tuple[list[str], list[str]]:
    """``(subject-level, trial-level)`` domains of ``schema``: with / without a USUBJID column."""
    subject = [d for d in domains if KEY in table_columns(con, f"{schema}.{d}")]
    return subject, [d for d in domains if d not in subject]


def _select_list(con, table: str, wanted: tuple[str, ...] | None) -> str:
    """SELECT list of the ``wanted`` columns ``table`` has (every column when None)."""
    if wanted is None:
        return "*"
    return ", ".join(f'"{c}"' for c in table_columns(con, table) if c in wanted)


def _each_chunk(con, subject: list[str], trial: dict[str, pl.DataFrame], chunks: list[SubjectChunk], schema: str,
                columns: dict[str, tuple[str, ...]] | None = None) -> Iterator[dict[str, pl.DataFrame]]:
    """Per chunk, the subject-level domains (only those of ``columns`` and only those columns
    when given) with the trial-level ones."""
    names = [d for d in subject if columns is None or d in columns]
    selects = {d: _select_list(con, f"{schema}.{d}", None if columns is None else columns[d]) for d in names}
    readers = {d: read_chunks(con, f"{schema}.{d}", chunks, key_sql=KEY, columns=selects[d]) for d in names}
    for _ in chunks:
        yield {**trial, **{d: next(reader) for d, reader in readers.items()}}


def adam_by_chunk(con: duckdb.DuckDBPyConnection, domains: list[str], *, schema: str = "sdtm",
                  max_rows: int | None = None, dco: date | None = None) -> Iterator[dict[str, pl.DataFrame]]:
    """:func:`derive_adam` over the SDTM ``domains`` of ``schema``, one subject chunk at a time
    (about ``max_rows`` SDTM rows, default :func:`adam_chunk_rows`), in USUBJID order.

    Every chunk gets every domain (possibly with no rows), so each chunk yields the same
    datasets. ADEX parameters: a first pass over the columns of EX / SUPPEX it needs
    (:data:`EXPOSURE_COLUMNS`) counts dosed and incomplete records
    (:func:`exposure_completeness`) over all chunks and decides once for the trial.
    """
    subject, trial_level = split_domains(con, domains, schema)
    trial = {d: read_table(con, f"{schema}.{d}") for d in trial_level}
    max_rows = adam_chunk_rows() if max_rows is None else max_rows
    chunks = subject_chunks(con, [f"{schema}.{d}" for d in subject], key_sql=KEY, max_rows=max_rows)
    dosed = incomplete = 0
    if "ex" in subject:
        exposure = {d: EXPOSURE_COLUMNS[d] for d in subject if d in EXPOSURE_COLUMNS}
        for sdtm in _each_chunk(con, subject, trial, chunks, schema, exposure):
            d, i = exposure_completeness(sdtm, dco=dco)
            dosed, incomplete = dosed + d, incomplete + i
    adex_params = exposure_params_computable(dosed, incomplete)
    for sdtm in _each_chunk(con, subject, trial, chunks, schema):
        yield derive_adam(sdtm, dco=dco, adex_params=adex_params)
