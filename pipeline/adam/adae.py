"""ADAE derivations (adam.md §2), in the spirit of the admiral ADAE template.

Each step is a function ``DataFrame -> DataFrame`` adding variables; :func:`derive_adae`
chains them. Rule choices are keyword arguments defaulting from ``trial_config()['adam']``.
All steps are vectorised polars (no per-subject Python loops).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.adam.dates import derive_vars_dt, study_day
from pipeline.config import trial_config

RELATED_TERMS: tuple[str, ...] = ("POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED")
SUPPAE_QNAMS: tuple[str, ...] = ("AERELEPI", "AERELTMZ", "AEACNEPI", "AEACNTMZ")
ACTION_COLS: tuple[str, ...] = ("AEACN", "AEACNEPI", "AEACNTMZ")
ADSL_VARS: tuple[str, ...] = ("TRTSDT", "TRTEDT", "DTHDT", "EOSDT")


def _adam_cfg() -> dict:
    return trial_config()["adam"]


def merge_suppae(ae: pl.DataFrame, suppae: pl.DataFrame | None, *, qnams: Sequence[str] = SUPPAE_QNAMS) -> pl.DataFrame:
    """Attach SUPPAE qualifiers as columns (``QNAM`` -> column, ``QVAL`` -> value).

    Rule: SUPPAE rows are matched on ``USUBJID`` and ``IDVARVAL == str(AESEQ)`` (IDVAR AESEQ);
    every QNAM in ``qnams`` becomes a Utf8 column (null where absent).

    Args: ae: SDTM AE; suppae: SDTM SUPPAE or None; qnams: qualifiers to pivot.

    Example: SUPPAE (S1, "3", AEACNEPI, DRUG WITHDRAWN) -> AE row S1/AESEQ 3 gets
    ``AEACNEPI = "DRUG WITHDRAWN"``.
    """
    out = ae
    if suppae is not None and suppae.height:
        s = (
            suppae.filter(pl.col("QNAM").is_in(list(qnams)))
            .select(
                "USUBJID",
                pl.col("IDVARVAL").cast(pl.Utf8).str.strip_chars().alias("_SEQ"),
                "QNAM",
                pl.col("QVAL").cast(pl.Utf8),
            )
            .unique(subset=["USUBJID", "_SEQ", "QNAM"], keep="first")
        )
        if s.height:
            wide = s.pivot(on="QNAM", index=["USUBJID", "_SEQ"], values="QVAL")
            drop = [c for c in wide.columns if c in out.columns and c not in ("USUBJID",)]
            out = (
                out.drop(drop)
                .with_columns(pl.col("AESEQ").cast(pl.Int64).cast(pl.Utf8).alias("_SEQ"))
                .join(wide, on=["USUBJID", "_SEQ"], how="left")
                .drop("_SEQ")
            )
    missing = [q for q in qnams if q not in out.columns]
    out = out.with_columns([pl.lit(None, pl.Utf8).alias(q) for q in missing])
    return out.select(*[c for c in out.columns if c not in qnams], *qnams)  # the same order whatever the subjects


def derive_ae_dates(
    df: pl.DataFrame,
    *,
    astdt_highest_imputation: str | None = None,
    aendt_highest_imputation: str = "M",
    min_dates: Sequence[str] = ("TRTSDT",),
    max_dates: Sequence[str] = ("DTHDT", "EOSDT"),
    trtsdt: str = "TRTSDT",
) -> pl.DataFrame:
    """ASTDT/ASTDTF, AENDT/AENDTF, ASTDY, AENDY, ADURN (admiral ``derive_vars_dt``).

    Rule: ASTDT = AESTDTC imputed to the first possible date, raised to TRTSDT when TRTSDT
    lies inside the partial range (``min_dates``); year missing -> null (highest imputation
    ``"M"``). AENDT = AEENDTC imputed to the last possible date, lowered to DTHDT/EOSDT
    when one lies inside the range (``max_dates``). Flags D/M by partiality.
    ASTDY/AENDY: study day vs TRTSDT without day 0; ADURN = AENDT - ASTDT + 1 (days).

    Args:
        astdt_highest_imputation: default config ``adam.astdt_highest_imputation`` ("M").
        aendt_highest_imputation: default ``"M"`` (admiral ADAE template).
        min_dates / max_dates: Date columns (those absent from ``df`` are skipped).
        trtsdt: reference column for study days.

    Example (TRTSDT 2022-01-10): AESTDTC "2022-01" -> 2022-01-10 "D"; "2022-02" -> 2022-02-01
    "D"; "2022" -> 2022-01-10 "M"; AEENDTC "2022-03" -> 2022-03-31 "D", or 2022-03-20 with
    DTHDT 2022-03-20.
    """
    if astdt_highest_imputation is None:
        astdt_highest_imputation = str(_adam_cfg().get("astdt_highest_imputation", "M"))
    mins = [c for c in min_dates if c in df.columns]
    maxs = [c for c in max_dates if c in df.columns]
    out = derive_vars_dt(
        df, "AST", "AESTDTC", highest_imputation=astdt_highest_imputation, date_imputation="first", min_dates=mins
    )
    out = derive_vars_dt(
        out, "AEN", "AEENDTC", highest_imputation=aendt_highest_imputation, date_imputation="last", max_dates=maxs
    )
    out = out.with_columns(
        study_day("ASTDT", trtsdt).alias("ASTDY"),
        study_day("AENDT", trtsdt).alias("AENDY"),
        ((pl.col("AENDT") - pl.col("ASTDT")).dt.total_days() + 1).alias("ADURN"),
    )
    return out


def derive_trtemfl(
    df: pl.DataFrame,
    *,
    end_window: int | None = None,
    trtsdt: str = "TRTSDT",
    trtedt: str = "TRTEDT",
    start_date: str = "ASTDT",
    end_date: str = "AENDT",
) -> pl.DataFrame:
    """TRTEMFL (admiral ``derive_var_trtemfl``, no ``initial_intensity``).

    Rule, first matching case wins: (1) TRTSDT null -> null; (2) AENDT < TRTSDT -> null;
    (3) ASTDT null -> "Y"; (4) TRTSDT <= ASTDT <= TRTEDT + end_window -> "Y"; (5) null.
    A null TRTEDT leaves the window open-ended (as admiral with missing end date).

    Args:
        end_window: days after last dose; default config ``adam.teae_window_days`` (30).
        trtsdt, trtedt, start_date, end_date: column names.

    Example (TRTSDT 2022-01-10, TRTEDT 2022-04-05, window 30): start 2022-05-05 -> "Y";
    start 2022-05-20 -> null; start 2021-12-28 ending 2022-01-05 -> null.
    """
    if end_window is None:
        end_window = int(_adam_cfg().get("teae_window_days", 30))
    s, e = pl.col(start_date), pl.col(end_date)
    ts, te = pl.col(trtsdt), pl.col(trtedt)
    win_end = te + pl.duration(days=end_window)
    flag = (
        pl.when(ts.is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(e.is_not_null() & (e < ts))
        .then(pl.lit(None, pl.Utf8))
        .when(s.is_null())
        .then(pl.lit("Y"))
        .when((s >= ts) & (te.is_null() | (s <= win_end)))
        .then(pl.lit("Y"))
        .otherwise(pl.lit(None, pl.Utf8))
    )
    return df.with_columns(flag.alias("TRTEMFL"))


def derive_atoxgr(df: pl.DataFrame, *, source: str = "AETOXGR", max_grade: int = 5) -> pl.DataFrame:
    """ATOXGR / ATOXGRN from the CTCAE grade.

    Rule: ATOXGRN = integer grade 1..``max_grade`` (an optional leading ``G`` is accepted);
    anything else (e.g. ``"G7"``, text) -> null; ATOXGR = ATOXGRN as text.

    Example: "3" -> ("3", 3); "G2" -> ("2", 2); "6" -> (null, null).
    """
    n = (
        pl.col(source).cast(pl.Utf8).str.strip_chars().str.to_uppercase().str.strip_prefix("G")
        .cast(pl.Int64, strict=False)
    )
    n = pl.when(n.is_between(1, max_grade)).then(n)
    return df.with_columns(n.alias("ATOXGRN")).with_columns(pl.col("ATOXGRN").cast(pl.Utf8).alias("ATOXGR"))


def derive_asev(df: pl.DataFrame, *, grade: str = "ATOXGRN") -> pl.DataFrame:
    """ASEV / ASEVN from the numeric toxicity grade.

    Rule: 1 -> MILD (1); 2 -> MODERATE (2); 3-5 -> SEVERE (3); null grade -> null.

    Example: ATOXGRN 4 -> ("SEVERE", 3).
    """
    g = pl.col(grade)
    asevn = pl.when(g == 1).then(1).when(g == 2).then(2).when(g.is_between(3, 5)).then(3)
    asev = pl.when(g == 1).then(pl.lit("MILD")).when(g == 2).then(pl.lit("MODERATE")).when(g.is_between(3, 5)).then(pl.lit("SEVERE"))
    return df.with_columns(asev.alias("ASEV"), asevn.cast(pl.Int64).alias("ASEVN"))


def _related(col: str, terms: Sequence[str], missing_as: str | None) -> pl.Expr:
    c = pl.col(col).cast(pl.Utf8).str.strip_chars().str.to_uppercase()
    return (
        pl.when(c.is_null())
        .then(pl.lit(missing_as, pl.Utf8))
        .when(c.is_in(list(terms)))
        .then(pl.lit("RELATED"))
        .otherwise(pl.lit("NOT RELATED"))
    )


def derive_arel(
    df: pl.DataFrame,
    *,
    related_terms: Sequence[str] = RELATED_TERMS,
    missing_as: str | None = "NOT RELATED",
    per_drug: dict[str, str] | None = None,
) -> pl.DataFrame:
    """AREL (overall) and per-drug ARELEPI / ARELTMZ.

    Rule: ``RELATED`` if the causality is one of ``related_terms`` (POSSIBLY / PROBABLY /
    DEFINITELY RELATED), else ``NOT RELATED``; a missing causality -> ``missing_as`` (spec:
    NOT RELATED; pass ``"RELATED"`` for the conservative convention). AREL from AEREL;
    per-drug from the SUPPAE columns (absent columns -> null).

    Args:
        related_terms: causality values counted as related.
        missing_as: value for a null causality.
        per_drug: output -> source column map, default ``{"ARELEPI": "AERELEPI", "ARELTMZ": "AERELTMZ"}``.

    Example: "PROBABLY RELATED" -> "RELATED"; "UNLIKELY RELATED" -> "NOT RELATED".
    """
    per_drug = per_drug or {"ARELEPI": "AERELEPI", "ARELTMZ": "AERELTMZ"}
    exprs = [_related("AEREL", related_terms, missing_as).alias("AREL")] if "AEREL" in df.columns else [pl.lit(None, pl.Utf8).alias("AREL")]
    for out, src in per_drug.items():
        exprs.append(_related(src, related_terms, missing_as).alias(out) if src in df.columns else pl.lit(None, pl.Utf8).alias(out))
    return df.with_columns(exprs)


def derive_action_flags(
    df: pl.DataFrame,
    *,
    action_cols: Sequence[str] = ACTION_COLS,
    flags: dict[str, str] | None = None,
) -> pl.DataFrame:
    """AEDISCFL / AEINTFL / AEREDFL from the drug actions.

    Rule: ``Y`` if any of ``action_cols`` (AEACN and SUPPAE AEACNEPI/AEACNTMZ; absent
    columns skipped) equals the action, else null:
    AEDISCFL DRUG WITHDRAWN; AEINTFL DRUG INTERRUPTED; AEREDFL DOSE REDUCED.
    (AEACN = MULTIPLE carries no action itself; the per-drug columns decide.)

    Args: action_cols: columns to scan; flags: flag -> action map (defaults above).

    Example: AEACN MULTIPLE, AEACNEPI DRUG WITHDRAWN -> AEDISCFL "Y".
    """
    flags = flags or {"AEDISCFL": "DRUG WITHDRAWN", "AEINTFL": "DRUG INTERRUPTED", "AEREDFL": "DOSE REDUCED"}
    cols = [c for c in action_cols if c in df.columns]
    exprs = []
    for name, action in flags.items():
        if cols:
            anyhit = pl.any_horizontal([(pl.col(c).cast(pl.Utf8).str.strip_chars().str.to_uppercase() == action).fill_null(False) for c in cols])
            exprs.append(pl.when(anyhit).then(pl.lit("Y")).otherwise(pl.lit(None, pl.Utf8)).alias(name))
        else:
            exprs.append(pl.lit(None, pl.Utf8).alias(name))
    return df.with_columns(exprs)


def derive_aocc_flags(
    df: pl.DataFrame,
    *,
    subject: str = "USUBJID",
    grade: str = "ATOXGRN",
    tie_breakers: Sequence[str] = ("ASTDT", "AESEQ"),
    filter_flag: str = "TRTEMFL",
    groups: dict[str, Sequence[str]] | None = None,
) -> pl.DataFrame:
    """AOCCFL / AOCCSFL / AOCCPFL: worst-grade occurrence flags (admiral ``derive_var_extreme_flag``).

    Rule: among records with ``filter_flag == "Y"``, flag ``Y`` on the single record with the
    highest ``grade`` per subject (AOCCFL), per subject x AEBODSYS (AOCCSFL), per subject x
    AEDECOD (AOCCPFL); ties -> earliest ASTDT, then lowest AESEQ; null grades and null
    dates sort last. All other records -> null.

    Args:
        subject, grade, tie_breakers, filter_flag: column names.
        groups: flag -> extra by-variables, default
        ``{"AOCCFL": [], "AOCCSFL": ["AEBODSYS"], "AOCCPFL": ["AEDECOD"]}``.

    Example: Nausea G1 (2022-01-11) and Nausea G2 (2022-02-01) -> AOCCPFL on the G2 record.
    """
    groups = groups or {"AOCCFL": [], "AOCCSFL": ["AEBODSYS"], "AOCCPFL": ["AEDECOD"]}
    ties = [c for c in tie_breakers if c in df.columns]
    out = df.with_row_index("_ROW")
    elig = pl.col(filter_flag) == "Y"
    # rank within group: order by grade desc (nulls last), then tie-breakers asc (nulls last)
    order = [pl.col(grade).is_null(), -pl.col(grade).fill_null(0)] + [pl.col(c).is_null() for c in ties] + [pl.col(c) for c in ties] + [pl.col("_ROW")]
    for name, extra in groups.items():
        by = [subject, *extra]
        sub = (
            out.filter(elig.fill_null(False))
            .select(
                "_ROW",
                pl.col("_ROW").sort_by(order).first().over(by).alias("_BEST"),
            )
            .filter(pl.col("_ROW") == pl.col("_BEST"))
            .select("_ROW", pl.lit("Y").alias(name))
        )
        out = out.drop(name, strict=False).join(sub, on="_ROW", how="left")
    return out.sort("_ROW").drop("_ROW")


def derive_adae(
    ae: pl.DataFrame,
    adsl: pl.DataFrame,
    suppae: pl.DataFrame | None = None,
    *,
    teae_window_days: int | None = None,
    astdt_highest_imputation: str | None = None,
    adsl_vars: Sequence[str] = ADSL_VARS,
    related_terms: Sequence[str] = RELATED_TERMS,
) -> pl.DataFrame:
    """Build ADAE: one row per SDTM AE record (adam.md §2).

    Rule: SUPPAE merged (:func:`merge_suppae`); ADSL ``adsl_vars`` joined on USUBJID;
    then :func:`derive_ae_dates`, :func:`derive_trtemfl`, :func:`derive_atoxgr`,
    :func:`derive_asev`, :func:`derive_arel`, ``ASER = AESER``, :func:`derive_action_flags`,
    :func:`derive_aocc_flags`. Records after DCO must be dropped by the caller beforehand.

    Args:
        ae, adsl, suppae: SDTM AE, ADSL (USUBJID + ``adsl_vars`` present), SUPPAE or None.
        teae_window_days: default config ``adam.teae_window_days``.
        astdt_highest_imputation: default config ``adam.astdt_highest_imputation``.
        related_terms: see :func:`derive_arel`.

    Example: see adam.md §2 worked table (tests/test_adam_adae.py).
    """
    keep = ["USUBJID", *[c for c in adsl_vars if c in adsl.columns]]
    df = merge_suppae(ae, suppae)
    df = df.drop([c for c in keep[1:] if c in df.columns]).join(adsl.select(keep), on="USUBJID", how="left")
    for c in adsl_vars:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.Date).alias(c))
    df = derive_ae_dates(df, astdt_highest_imputation=astdt_highest_imputation)
    df = derive_trtemfl(df, end_window=teae_window_days)
    df = derive_atoxgr(df)
    df = derive_asev(df)
    df = derive_arel(df, related_terms=related_terms)
    if "AESER" in df.columns:
        df = df.with_columns(pl.col("AESER").alias("ASER"))
    df = derive_action_flags(df)
    return derive_aocc_flags(df)
