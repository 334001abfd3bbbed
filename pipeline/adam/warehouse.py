"""Deriving ADaM from the SDTM schema of a DuckDB warehouse, one subject chunk at a time.

Why: :func:`pipeline.adam.build.derive_adam` holds its inputs and outputs in memory; over the
whole of a 100,000-subject trial that is tens of GB. Every derivation in ``pipeline.adam``
looks at one subject at a time (sorts, windows and group-bys are keyed by USUBJID; the only
whole-trial decision, whether ADEX has parameters, is taken once here from per-chunk counts),
so running it on subject ranges (:func:`pipeline.warehouse_io.subject_chunks`) gives the same
records, in the same order, with memory bounded by ``ops.scale.chunk_rows``.

Trial-level domains (no USUBJID: TS, TA, TE ...) are read whole once and given to every chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import polars as pl

from pipeline.adam.build import derive_adam, exposure_completeness, exposure_params_computable
from pipeline.warehouse_io import SubjectChunk, read_chunk, read_table, subject_chunks, table_columns

KEY = "USUBJID"


def split_domains(con: duckdb.DuckDBPyConnection, domains: list[str], schema: str = "sdtm") -> tuple[list[str], list[str]]:
    """``(subject-level, trial-level)`` domains of ``schema``: with / without a USUBJID column."""
    subject = [d for d in domains if KEY in table_columns(con, f"{schema}.{d}")]
    return subject, [d for d in domains if d not in subject]


def _chunk_sdtm(con, subject: list[str], trial: dict[str, pl.DataFrame], chunk: SubjectChunk, schema: str,
                only: tuple[str, ...] | None = None) -> dict[str, pl.DataFrame]:
    names = [d for d in subject if only is None or d in only]
    return {**trial, **{d: read_chunk(con, f"{schema}.{d}", chunk, key_sql=KEY) for d in names}}


def adam_by_chunk(con: duckdb.DuckDBPyConnection, domains: list[str], *, schema: str = "sdtm",
                  max_rows: int | None = None, dco: date | None = None) -> Iterator[dict[str, pl.DataFrame]]:
    """:func:`derive_adam` over the SDTM ``domains`` of ``schema``, one subject chunk at a time
    (about ``max_rows`` SDTM rows, default ``ops.scale.chunk_rows``), in USUBJID order.

    Every chunk gets every domain (possibly with no rows), so each chunk yields the same
    datasets. ADEX parameters: a first pass over EX / SUPPEX counts dosed and incomplete
    records (:func:`exposure_completeness`) over all chunks and decides once for the trial.
    """
    subject, trial_level = split_domains(con, domains, schema)
    trial = {d: read_table(con, f"{schema}.{d}") for d in trial_level}
    chunks = subject_chunks(con, [f"{schema}.{d}" for d in subject], key_sql=KEY, max_rows=max_rows)
    dosed = incomplete = 0
    for chunk in chunks:
        d, i = exposure_completeness(_chunk_sdtm(con, subject, trial, chunk, schema, only=("ex", "suppex")), dco=dco)
        dosed, incomplete = dosed + d, incomplete + i
    adex_params = exposure_params_computable(dosed, incomplete)
    for chunk in chunks:
        yield derive_adam(_chunk_sdtm(con, subject, trial, chunk, schema), dco=dco, adex_params=adex_params)
