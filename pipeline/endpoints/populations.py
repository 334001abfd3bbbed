"""Analysis populations and the n (%) convention shared by every endpoint table.

Denominators come from ADSL flags (endpoints.md §0): efficacy EFFFL (primary) / ITTFL
(sensitivity); safety and exposure SAFFL. Percentages are ``100 n / N`` stored unrounded;
with N = 0 they are NULL, never 0.

The subject-count column is ``n_subj``: DuckDB identifiers are case-insensitive, so the spec's
``N`` (denominator) and ``n`` (numerator) cannot both be columns of one table.
"""

from __future__ import annotations

import polars as pl

NUM = "n_subj"


def population(adsl: pl.DataFrame, flag: str) -> pl.DataFrame:
    """USUBJID of the subjects with ``flag = 'Y'`` (empty if ADSL lacks the flag)."""
    if flag not in adsl.columns:
        return pl.DataFrame(schema={"USUBJID": pl.String})
    return adsl.filter(pl.col(flag) == "Y").select(pl.col("USUBJID").cast(pl.String)).unique().sort("USUBJID")


def pct(n: str | pl.Expr = NUM, denom: str | pl.Expr = "N") -> pl.Expr:
    """``100 n / N``; NULL when N = 0."""
    n_ = pl.col(n) if isinstance(n, str) else n
    d_ = pl.col(denom) if isinstance(denom, str) else denom
    return pl.when(d_ > 0).then(100.0 * n_ / d_)
