"""Field builder and base model of the ADaM contracts (adam.md).

ADaM datasets are derived from SDTM made here *or elsewhere* (``trialwh adam --sdtm``), so the
contracts check structure and derivation invariants, never this trial's identifiers: no
USUBJID pattern, no STUDYID value. ``var(label, required=...)``: a required variable is
present and never null; the others may be null; ``Optional[...]`` annotations may be absent
(an external SDTM without the source domain). ``_KEY`` is the record key (``unique_key``).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.contracts import KeyedDataset, value_checks

NY = ["Y", "N"]
FLAG = ["Y"]


def var(label: str, *, required: bool = False, ct=None, ge=None, gt=None, le=None):
    checks = value_checks(ct=ct, ge=ge, le=le, gt=gt)
    return pa.Field(nullable=not required, title=label, metadata={"label": label}, **checks)


def implies(data, condition: pl.Expr, consequence: pl.Expr, name: str) -> pl.LazyFrame:
    """Row check: where ``condition`` holds, ``consequence`` holds too."""
    return data.lazyframe.select((~condition.fill_null(False) | consequence.fill_null(False)).alias(name))


class AdamDataset(KeyedDataset):
    """Every ADaM dataset: STUDYID and USUBJID on every record."""

    STUDYID: str = var("Study Identifier", required=True)
    USUBJID: str = var("Unique Subject Identifier", required=True)
