"""The shape of a finding, and the one function that makes finding rows.

A finding is one failed check on one value of one staged row: rule, severity, where it is in
the trial (form, site, subject, visit, field), the raw text as delivered, a message, and where
it is in the delivery (format, file, row). ``qa.findings`` holds these rows.
"""

from __future__ import annotations

import polars as pl

from pipeline.validation.rules import RULES

FINDING_COLUMNS: dict[str, pl.DataType] = {
    "RULE_ID": pl.Utf8,
    "SEVERITY": pl.Utf8,
    "FORM": pl.Utf8,
    "STUDYID": pl.Utf8,
    "SITEID": pl.Utf8,
    "SUBJID": pl.Utf8,
    "VISIT": pl.Utf8,
    "FIELD": pl.Utf8,
    "RAW_VALUE": pl.Utf8,
    "MESSAGE": pl.Utf8,
    "SRC_FORMAT": pl.Utf8,
    "SRC_FILE": pl.Utf8,
    "SRC_ROW": pl.Int64,
}


def empty_findings(extra: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    return pl.DataFrame(schema={**FINDING_COLUMNS, **(extra or {})})


def make_findings(
    frame: pl.DataFrame,
    mask: pl.Expr,
    *,
    rule: str,
    form: str,
    field: str | pl.Expr,
    raw_value: pl.Expr,
    message: str | pl.Expr,
    keep: tuple[str, ...] = ("_ROW",),
) -> pl.DataFrame:
    """Finding rows for every row of ``frame`` where ``mask`` holds.

    ``frame`` must carry normalised ``STUDYID``..``VISIT`` and the lineage columns; ``keep``
    names extra columns carried along (``_ROW`` links a finding to its staged row).
    """
    severity = RULES[rule].severity
    as_expr = lambda v: pl.lit(v, dtype=pl.Utf8) if isinstance(v, str) else v.cast(pl.Utf8)  # noqa: E731
    # the mask goes through a column: polars 2.1 fails ``filter(pl.lit(True).fill_null(False))``
    # on frames of 16,384 rows or more ("filter predicate length of 2")
    hits = frame.with_columns(mask.fill_null(False).alias("_MASK")).filter(pl.col("_MASK")).drop("_MASK")
    return hits.select(
        pl.lit(rule).alias("RULE_ID"),
        pl.lit(severity).alias("SEVERITY"),
        pl.lit(form).alias("FORM"),
        pl.col("STUDYID").cast(pl.Utf8),
        pl.col("SITEID").cast(pl.Utf8),
        pl.col("SUBJID").cast(pl.Utf8),
        pl.col("VISIT").cast(pl.Utf8),
        as_expr(field).alias("FIELD"),
        raw_value.cast(pl.Utf8).alias("RAW_VALUE"),
        as_expr(message).alias("MESSAGE"),
        pl.col("SRC_FORMAT").cast(pl.Utf8),
        pl.col("SRC_FILE").cast(pl.Utf8),
        pl.col("SRC_ROW").cast(pl.Int64),
        *[pl.col(k) for k in keep],
    )
