"""Date imputation helpers shared by the ADaM derivations (adam.md §1-§2).

Python restatement of pharmaverse admiral ``derive_vars_dt`` (``impute_dtc_dt`` +
``compute_dtf``) for ISO 8601 (partial) dates held as text, vectorised in polars, plus the two
ADSL rules built on it (DTHDT, NACTDT).

Partial-date grammar understood: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` (anything after the
date part, e.g. ``THH:MM``, is ignored) and the ISO 8601 "missing component" form with
hyphens (``YYYY---DD``, ``--MM-DD``). As in admiral, once a component is missing every lower
component is treated as missing too (``2019---07`` is a year-only date).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.config import trial_config

IntoExpr = str | pl.Expr

def _col(x: IntoExpr) -> pl.Expr:
    return pl.col(x) if isinstance(x, str) else x


def _as_list(x: IntoExpr | Sequence[IntoExpr] | None) -> list[pl.Expr]:
    if x is None:
        return []
    if isinstance(x, (str, pl.Expr)):
        return [_col(x)]
    return [_col(v) for v in x]


def _config_highest_imputation() -> str:
    return str(trial_config()["adam"].get("astdt_highest_imputation", "M"))


def complete_date(col: str | pl.Expr) -> pl.Expr:
    """Date of the complete date part of an ISO 8601 text; partial or absent -> null (no imputation).

    Example: ``"2022-03-05T14:30"`` -> 2022-03-05; ``"2022-03"`` -> null.
    """
    c = pl.col(col) if isinstance(col, str) else col
    return c.cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def dtc_components(dtc: IntoExpr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Year, month, day (Int32, null when missing) of an ISO 8601 (partial) date text.

    A component that follows a missing one is returned null (admiral convention); an
    malformed component (month ``13`` or ``1``, day ``32``) makes the whole date invalid
    (all null).
    Example: ``"2022-01"`` -> (2022, 1, null); ``"2022---15"`` -> (2022, null, null).
    """
    # fixed-position slicing (much cheaper than a regex at 10^6 rows); "-" / "--" -> null
    s = _col(dtc).cast(pl.Utf8).str.strip_chars()
    y_raw = s.str.slice(0, 4)
    y = pl.when(y_raw.str.len_bytes() == 4).then(y_raw).cast(pl.Int32, strict=False)
    m_raw = pl.when(s.str.slice(4, 1) == "-").then(s.str.slice(5, 2))
    m = pl.when(m_raw.str.len_bytes() == 2).then(m_raw).cast(pl.Int32, strict=False)
    d_raw = pl.when(s.str.slice(7, 1) == "-").then(s.str.slice(8, 2))
    d = pl.when(d_raw.str.len_bytes() == 2).then(d_raw).cast(pl.Int32, strict=False)
    # a component that is present but malformed (e.g. month "13" or "1") invalidates the date
    bad_m = m_raw.is_not_null() & ~m_raw.str.starts_with("-") & ~m.is_between(1, 12).fill_null(False)
    bad_d = (
        m.is_not_null() & d_raw.is_not_null() & ~d_raw.str.starts_with("-")
        & ~d.is_between(1, 31).fill_null(False)
    )
    y = pl.when(~(bad_m | bad_d)).then(y)
    m = pl.when(y.is_not_null() & m.is_between(1, 12)).then(m)
    d = pl.when(m.is_not_null() & d.is_between(1, 31)).then(d)
    return y, m, d


def _range_from_parts(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    som = pl.date(y, pl.coalesce(m, pl.lit(1, pl.Int32)), 1)  # first of (month or January)
    eom_last = pl.date(y, pl.coalesce(m, pl.lit(12, pl.Int32)), 1).dt.month_end()
    day_ok = d <= som.dt.month_end().dt.day()
    full = pl.when(day_ok).then(som + pl.duration(days=d - 1))
    lo = pl.when(d.is_not_null()).then(full).otherwise(som)
    hi = pl.when(d.is_not_null()).then(full).otherwise(eom_last)
    return lo, hi


def _dtf_from_parts(dtc: pl.Expr, y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    s = dtc.cast(pl.Utf8).str.strip_chars()
    return (
        pl.when(s.is_null() | (s == ""))
        .then(pl.lit(None, pl.Utf8))
        .when(y.is_null() & s.str.starts_with("-"))
        .then(pl.lit("Y"))
        .when(y.is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(m.is_null())
        .then(pl.lit("M"))
        .when(d.is_null())
        .then(pl.lit("D"))
        .otherwise(pl.lit(None, pl.Utf8))
    )


_LEVEL = {"n": 0, "N": 0, "D": 1, "M": 2, "Y": 3}


def _impute_core(
    lo: pl.Expr,
    hi: pl.Expr,
    flag: pl.Expr,
    *,
    highest_imputation: str | None,
    date_imputation: str,
    min_dates: IntoExpr | Sequence[IntoExpr] | None,
    max_dates: IntoExpr | Sequence[IntoExpr] | None,
) -> pl.Expr:
    """Imputation from the possible-date range ``[lo, hi]`` and partiality ``flag``."""
    if highest_imputation is None:
        highest_imputation = _config_highest_imputation()
    if highest_imputation not in _LEVEL:
        raise ValueError(f"highest_imputation must be one of n, D, M, Y: {highest_imputation!r}")
    if date_imputation not in ("first", "last"):
        raise ValueError(f"date_imputation must be 'first' or 'last': {date_imputation!r}")
    level = _LEVEL[highest_imputation]
    mins, maxs = _as_list(min_dates), _as_list(max_dates)
    needed = pl.when(flag.is_null()).then(0).when(flag == "D").then(1).when(flag == "M").then(2).otherwise(3)
    out = lo if date_imputation == "first" else hi
    # min/max dates inside [lo, hi] (null otherwise); max/min_horizontal ignore nulls
    if mins:
        out = pl.max_horizontal([out, *[pl.when((md >= lo) & (md <= hi)).then(md) for md in mins]])
    if maxs:
        out = pl.min_horizontal([out, *[pl.when((md >= lo) & (md <= hi)).then(md) for md in maxs]])
    out = pl.when(lo.is_not_null()).then(out)
    if level == 3:
        if date_imputation == "first" and mins:
            year_imp = pl.max_horizontal(mins)
        elif date_imputation == "last" and maxs:
            year_imp = pl.min_horizontal(maxs)
        else:
            year_imp = pl.lit(None, pl.Date)
        out = pl.when(flag == "Y").then(year_imp).otherwise(out)
    return pl.when(needed <= level).then(out).otherwise(pl.lit(None, pl.Date))


def derive_vars_dt(
    df: pl.DataFrame,
    new_vars_prefix: str,
    dtc: str,
    *,
    highest_imputation: str | None = None,
    date_imputation: str = "first",
    flag_imputation: bool = True,
    min_dates: IntoExpr | Sequence[IntoExpr] | None = None,
    max_dates: IntoExpr | Sequence[IntoExpr] | None = None,
) -> pl.DataFrame:
    """Add ``<prefix>DT`` (and ``<prefix>DTF``) from a partial ISO 8601 column (admiral
    ``derive_vars_dt``: ``impute_dtc_dt`` + ``convert_dtc_to_dt`` + ``compute_dtf``).

    Rule: the partial date spans a range [first, last] of possible dates.
    - ``date_imputation="first"`` takes ``first`` (01 for the day, January for the month);
      ``"last"`` takes ``last`` (last day of month / 31 Dec).
    - ``min_dates``: every min date lying inside [first, last] raises the result to at least
      that date (``max(imputed, min date)``) - e.g. ASTDT not before TRTSDT. Min dates
      outside the range are ignored (admiral).
    - ``max_dates``: every max date inside the range lowers the result to at most that date
      (``min(imputed, max date)``) - e.g. AENDT not after DTHDT/EOSDT.
    - ``highest_imputation``: highest component that may be imputed: ``"n"`` none (complete
      dates only), ``"D"`` day, ``"M"`` month and day, ``"Y"`` year too (year missing ->
      ``max(min_dates)`` for ``"first"`` / ``min(max_dates)`` for ``"last"``). A date needing
      more imputation than allowed -> null. Default: config ``adam.astdt_highest_imputation``.
    Complete dates are returned unchanged (no capping). The flag is ``D``/``M``/``Y`` by the
    partiality of ``dtc`` when the imputed date is not null (null for complete dates).

    Args:
        dtc: column of ISO 8601 text; highest_imputation: ``"n" | "D" | "M" | "Y"``;
        date_imputation: ``"first"`` or ``"last"``; min_dates / max_dates: Date column
        name(s)/expression(s); ``flag_imputation=False`` omits the DTF column.

    Example:
        >>> derive_vars_dt(ae, "AST", "AESTDTC", min_dates="TRTSDT")   # adds ASTDT, ASTDTF
        >>> # TRTSDT 2022-01-10: "2022-01" -> 2022-01-10 "D"; "2021-12" -> 2021-12-01 "D"
    """
    # materialise the parsed parts once (an expression tree would re-parse per reference)
    t = f"__{new_vars_prefix}"
    y, m, d = dtc_components(dtc)
    out = df.with_columns(y.alias(f"{t}y"), m.alias(f"{t}m"), d.alias(f"{t}d"))
    cols = pl.col(f"{t}y"), pl.col(f"{t}m"), pl.col(f"{t}d")
    lo, hi = _range_from_parts(*cols)
    out = out.with_columns(
        lo.alias(f"{t}lo"), hi.alias(f"{t}hi"), _dtf_from_parts(_col(dtc), *cols).alias(f"{t}f")
    )
    dt = _impute_core(
        pl.col(f"{t}lo"),
        pl.col(f"{t}hi"),
        pl.col(f"{t}f"),
        highest_imputation=highest_imputation,
        date_imputation=date_imputation,
        min_dates=min_dates,
        max_dates=max_dates,
    )
    out = out.with_columns(dt.alias(f"{new_vars_prefix}DT"))
    if flag_imputation:
        out = out.with_columns(
            pl.when(pl.col(f"{new_vars_prefix}DT").is_not_null())
            .then(pl.col(f"{t}f"))
            .otherwise(pl.lit(None, pl.Utf8))
            .alias(f"{new_vars_prefix}DTF")
        )
    return out.drop([f"{t}{k}" for k in ("y", "m", "d", "lo", "hi", "f")])


def study_day(dt: IntoExpr, ref: IntoExpr = "TRTSDT") -> pl.Expr:
    """SDTM/ADaM study day without day 0: ``dt - ref + 1`` if ``dt >= ref`` else ``dt - ref``.

    Example: ref 2022-01-10: 2022-01-10 -> 1; 2022-01-09 -> -1; 2022-01-11 -> 2.
    """
    d, r = _col(dt), _col(ref)
    diff = (d - r).dt.total_days()
    return pl.when(diff >= 0).then(diff + 1).otherwise(diff).cast(pl.Int64)


def derive_dthdt(df: pl.DataFrame, dthdtc: str = "DTHDTC", lstalvdt: str = "LSTALVDT") -> pl.DataFrame:
    """Add ADSL DTHDT / DTHDTF from DM.DTHDTC (adam.md §1).

    Rule: complete -> as is; missing day -> ``max(first of month, LSTALVDT)``; missing month ->
    ``max(1 Jan, LSTALVDT)``; flag ``D`` / ``M``; missing year -> null. LSTALVDT is used only
    when it lies inside the partial date's range (admiral ``min_dates`` semantics), so the death
    date never leaves the reported month/year: an LSTALVDT after it is a data issue, not a
    reason to move the death.

    Example: ``DTHDTC "2022-11"``, LSTALVDT 2022-11-12 -> 2022-11-12, ``"D"``; LSTALVDT
    2022-10-01 (before the month) -> 2022-11-01, ``"D"``.

    Why :func:`derive_vars_dt` (date parts parsed once into columns) and not one expression:
    planning a single large expression tree cost a fixed ~0.15 s per call, paid once per ADaM
    subject chunk.
    """
    return derive_vars_dt(df, "DTH", dthdtc, highest_imputation="M", date_imputation="first", min_dates=lstalvdt)


def derive_nactdt(
    starts: pl.DataFrame,
    adsl: pl.DataFrame,
    *,
    dtc: str = "STDTC",
    by: str = "USUBJID",
    trtedt: str = "TRTEDT",
) -> pl.DataFrame:
    """Add NACTDT to ADSL (adam.md §1): earliest imputed start over all subsequent-therapy records.

    Rule: each record of ``starts`` (SUBTX / CM subsequent anticancer therapy / PR subsequent
    procedures, stacked by the caller with one ISO 8601 column ``dtc``) is imputed: complete ->
    as is; partial -> first possible day, but not before ``TRTEDT + 1`` (admiral ``min_dates``
    semantics: applied when ``TRTEDT + 1`` lies inside the partial date's range); year missing
    -> null. NACTDT = per-subject minimum; subjects without records -> null.

    Args:
        starts: long frame (``by``, ``dtc``); adsl: one row per ``by`` with ``trtedt``.
        dtc, by, trtedt: column names.

    Example: TRTEDT 2022-04-05: ``"2022-04"`` -> 2022-04-06; ``"2022-05"`` -> 2022-05-01;
    records ``["2022-04", "2022-06-15"]`` -> NACTDT 2022-04-06.
    """
    recs = starts.select(by, dtc).join(adsl.select(by, trtedt), on=by, how="inner")
    floor = (pl.col(trtedt) + pl.duration(days=1)).alias("_FLOOR")
    recs = derive_vars_dt(recs.with_columns(floor), "_NACT", dtc, highest_imputation="M", date_imputation="first",
                          flag_imputation=False, min_dates="_FLOOR").rename({"_NACTDT": "_NACT"})
    first = recs.group_by(by).agg(pl.col("_NACT").min().alias("NACTDT"))
    return adsl.drop("NACTDT", strict=False).join(first, on=by, how="left")
