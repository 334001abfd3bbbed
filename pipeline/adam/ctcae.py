"""CTCAE v5.0 laboratory grading as vectorised polars expressions (adam.md §3).

Restates the criteria of admiral's ``ncictcaev5.json`` for the lab tests of this trial.
Conventions: comparisons are on the unrounded values with strict ``<`` / ``>`` (except the
CTCAE ``>= 1.5 x baseline`` grade 1 for ALT/AST with abnormal baseline); a gradable value
meeting no criterion is ``"0"``; grade 1 needs the reference range (``ANRLO`` / ``ANRHI``) -
when it is missing and no higher grade applies the result is null; null AVAL -> null; a
PARAMCD without criteria in that direction -> null. Results are text ``"0"``..``"4"``.
"""

from __future__ import annotations

import polars as pl

IntoExpr = str | pl.Expr

#: low-direction absolute thresholds (grade 4, 3, 2; ``None`` = grade not defined);
#: grade 1 is ``AVAL < ANRLO``.
LOW_CRITERIA: dict[str, tuple[float | None, float | None, float | None]] = {
    "NEUT": (0.5, 1.0, 1.5),
    "PLT": (25.0, 50.0, 75.0),
    "WBC": (1.0, 2.0, 3.0),
    "HGB": (None, 80.0, 100.0),
}

#: high-direction multiples for tests whose reference switches to BASE when the baseline is
#: HIGH: (grade 4, 3, 2, 1) multiples of ANRHI (baseline normal) / of BASE (baseline HIGH),
#: and whether grade 1 on BASE is inclusive (``>=``).
HIGH_SWITCH_CRITERIA: dict[str, tuple[tuple[float, float, float, float], bool]] = {
    "ALT": ((20.0, 5.0, 3.0, 1.5), True),
    "AST": ((20.0, 5.0, 3.0, 1.5), True),
    "BILI": ((10.0, 3.0, 1.5, 1.0), False),
}
#: ALT/AST/BILI multiples of ANRHI when the baseline is not HIGH.
HIGH_ULN_CRITERIA: dict[str, tuple[float, float, float, float]] = {
    "ALT": (20.0, 5.0, 3.0, 1.0),
    "AST": (20.0, 5.0, 3.0, 1.0),
    "BILI": (10.0, 3.0, 1.5, 1.0),
}
GRADABLE_LOW = frozenset(LOW_CRITERIA)

#: the unit LOW_CRITERIA are written in, and factors from other units a delivery may use
#: (CTCAE v5 gives HGB < 80 g/L = < 4.9 mmol/L; 1 mmol/L Hb(Fe) = 16.11 g/L; GI/L = 10^9/L)
LOW_CRITERIA_UNIT = {"NEUT": "10^9/L", "PLT": "10^9/L", "WBC": "10^9/L", "HGB": "g/L"}
UNIT_FACTORS: dict[tuple[str, str], float] = {
    **{(p, u): 1.0 for p, u in LOW_CRITERIA_UNIT.items()},
    **{(p, "GI/L"): 1.0 for p in ("NEUT", "PLT", "WBC")},
    ("HGB", "g/dL"): 10.0,
    ("HGB", "mmol/L"): 16.11,
}
GRADABLE_HIGH = frozenset([*HIGH_SWITCH_CRITERIA, "CREAT"])

_NULL = pl.lit(None, pl.Utf8)


def _col(x: IntoExpr) -> pl.Expr:
    return pl.col(x) if isinstance(x, str) else x


def _low_chain(aval: pl.Expr, anrlo: pl.Expr, thresholds) -> pl.Expr:
    chain = pl.when(aval.is_null()).then(_NULL)
    for grade, thr in zip(("4", "3", "2"), thresholds):
        if thr is not None:
            chain = chain.when(aval < thr).then(pl.lit(grade))
    return chain.when(anrlo.is_null()).then(_NULL).when(aval < anrlo).then(pl.lit("1")).otherwise(pl.lit("0"))


def in_criteria_unit(paramcd: IntoExpr, value: IntoExpr, unit: IntoExpr) -> pl.Expr:
    """``value`` converted to the unit the absolute LOW criteria are written in.

    Rule: factor from :data:`UNIT_FACTORS` by (PARAMCD, unit); a null unit is taken as the
    criteria unit (our own SDTM always states it); a unit with no known factor gives null, so
    the value is not graded rather than graded against thresholds of another unit (the CDISC
    pilot's HGB in mmol/L would otherwise be grade 3 for everyone). Tests without absolute LOW
    criteria pass through unchanged.

    Example: HGB 4.5 mmol/L -> 72.5 g/L (grade 3); HGB 7.9 g/dL -> 79 g/L; PLT 30 GI/L -> 30.
    """
    p, u, v = _col(paramcd), _col(unit), _col(value).cast(pl.Float64)
    chain = pl.when(~p.is_in(list(LOW_CRITERIA_UNIT)) | u.is_null()).then(v)
    for (param, known), factor in UNIT_FACTORS.items():
        chain = chain.when((p == param) & (u == known)).then(v * factor)
    return chain.otherwise(pl.lit(None, pl.Float64))


def grade_low(paramcd: IntoExpr, aval: IntoExpr, anrlo: IntoExpr) -> pl.Expr:
    """CTCAE v5.0 grade in the LOW direction (ATOXGRL) as text ``"0"``-``"4"`` or null.

    Rule (10^9/L for counts, g/L for HGB; strict ``<``):
    NEUT <0.5 4, <1.0 3, <1.5 2; PLT <25 4, <50 3, <75 2; WBC <1.0 4, <2.0 3, <3.0 2;
    HGB <80 3, <100 2 (no grade 4 by value); all: ``AVAL < ANRLO`` 1, else 0.
    Grade 1 needs ANRLO: missing ANRLO and no higher grade -> null. Null AVAL or a PARAMCD
    not listed -> null.

    Args:
        paramcd: PARAMCD column name/expression.
        aval: analysis value (unrounded). anrlo: lower limit of normal.

    Example: NEUT, ANRLO 1.8: 2.5 -> "0"; 1.6 -> "1"; 1.0 -> "2"; 0.9 -> "3"; 0.4 -> "4".
        >>> df.with_columns(grade_low("PARAMCD", "AVAL", "ANRLO").alias("ATOXGRL"))
    """
    p, a, lo = _col(paramcd), _col(aval).cast(pl.Float64), _col(anrlo).cast(pl.Float64)
    expr = pl.when(pl.lit(False)).then(_NULL)
    for code, thr in LOW_CRITERIA.items():
        expr = expr.when(p == code).then(_low_chain(a, lo, thr))
    return expr.otherwise(_NULL)


def _high_mult_chain(aval: pl.Expr, ref: pl.Expr, mults, grade1_inclusive: bool) -> pl.Expr:
    m4, m3, m2, m1 = mults
    chain = (
        pl.when(aval.is_null() | ref.is_null())
        .then(_NULL)
        .when(aval > m4 * ref)
        .then(pl.lit("4"))
        .when(aval > m3 * ref)
        .then(pl.lit("3"))
        .when(aval > m2 * ref)
        .then(pl.lit("2"))
    )
    g1 = (aval >= m1 * ref) if grade1_inclusive else (aval > m1 * ref)
    return chain.when(g1).then(pl.lit("1")).otherwise(pl.lit("0"))


def grade_high(
    paramcd: IntoExpr,
    aval: IntoExpr,
    anrhi: IntoExpr,
    base: IntoExpr,
    bnrind: IntoExpr,
) -> pl.Expr:
    """CTCAE v5.0 grade in the HIGH direction (ATOXGRH) as text ``"0"``-``"4"`` or null.

    Rule (strict ``>`` unless stated):
    - ALT, AST, baseline not HIGH: >20xANRHI 4, >5x 3, >3x 2, >ANRHI 1, else 0.
      Baseline HIGH (``BNRIND == "HIGH"`` and BASE present): >20xBASE 4, >5x 3, >3x 2,
      ``>= 1.5xBASE`` 1, else 0 (so a value above ULN but < 1.5xBASE is grade 0).
    - BILI: as ALT with multiples 10, 3, 1.5, 1 (grade 1 ``> 1xBASE`` on a HIGH baseline).
    - CREAT: >6xANRHI 4; >3xANRHI or >3xBASE 3; >1.5xANRHI or >1.5xBASE 2; >ANRHI 1; else 0.
    Grade 1 needs the range: missing ANRHI and no higher grade -> null (on the ULN branch
    every grade needs ANRHI). Null AVAL or a PARAMCD not listed -> null.

    Args:
        paramcd: PARAMCD; aval: analysis value (unrounded); anrhi: upper limit of normal;
        base: baseline AVAL; bnrind: baseline reference-range indicator.

    Example: ALT, ANRHI 40, baseline NORMAL: 45 -> "1", 130 -> "2", 210 -> "3", 850 -> "4";
    ALT, BASE 60, BNRIND HIGH: 85 -> "0", 95 -> "1", 190 -> "2";
    CREAT, ANRHI 97, BASE 70: 100 -> "1", 120 -> "2", 220 -> "3", 600 -> "4".
        >>> df.with_columns(grade_high("PARAMCD", "AVAL", "ANRHI", "BASE", "BNRIND").alias("ATOXGRH"))
    """
    p = _col(paramcd)
    a = _col(aval).cast(pl.Float64)
    hi = _col(anrhi).cast(pl.Float64)
    b = _col(base).cast(pl.Float64)
    use_base = (_col(bnrind) == "HIGH").fill_null(False) & b.is_not_null()

    expr = pl.when(pl.lit(False)).then(_NULL)
    for code, (mults, incl) in HIGH_SWITCH_CRITERIA.items():
        on_base = _high_mult_chain(a, b, mults, incl)
        on_uln = _high_mult_chain(a, hi, HIGH_ULN_CRITERIA[code], False)
        expr = expr.when(p == code).then(pl.when(use_base).then(on_base).otherwise(on_uln))

    b_ok = b.is_not_null()
    creat = (
        pl.when(a.is_null())
        .then(_NULL)
        .when(a > 6.0 * hi)
        .then(pl.lit("4"))
        .when((a > 3.0 * hi) | (b_ok & (a > 3.0 * b)))
        .then(pl.lit("3"))
        .when((a > 1.5 * hi) | (b_ok & (a > 1.5 * b)))
        .then(pl.lit("2"))
        .when(hi.is_null())
        .then(_NULL)
        .when(a > hi)
        .then(pl.lit("1"))
        .otherwise(pl.lit("0"))
    )
    return expr.when(p == "CREAT").then(creat).otherwise(_NULL)
