"""Exposure summary (endpoints.md §3) over SAFFL subjects: ``ep_exposure`` in long format
(DRUG, PARAMETER, STATISTIC, CATEGORY, VALUE).

Sources: ADSL NCYCLE (cycles started), TRTDURD (treatment duration, reported in weeks),
EOTSTT/DCTREAS (end of treatment), and the ADEX subject x drug parameters CUMDOSE, ADI,
RDI, RD, NDOSRED, NDELAY. DRUG = 'ALL' for subject-level rows (and "any drug" flags). A
source that is absent or entirely null (e.g. NCYCLE and the ADEX parameters of an external
delivery without cycles or BSA) gives no rows, and statistics of an empty set are NULL.
"""

from __future__ import annotations

import polars as pl

from pipeline.endpoints.populations import population

ALL = "ALL"
CONTINUOUS = ("N", "MEAN", "SD", "MEDIAN", "Q1", "Q3", "MIN", "MAX")
DRUG_PARAMS = {"CUMDOSE": "CUMULATIVE_DOSE_MG_M2", "ADI": "ADI_MG_M2_WEEK", "RDI": "RDI_PCT", "RD": "RD_PCT"}
SCHEMA = {"DRUG": pl.String, "PARAMETER": pl.String, "STATISTIC": pl.String, "CATEGORY": pl.String, "VALUE": pl.Float64}


def describe(df: pl.DataFrame, value: pl.Expr, by: list[str]) -> pl.DataFrame:
    """Long rows of n, mean, SD, median, Q1, Q3, min, max of ``value`` per ``by`` group."""
    v = value.cast(pl.Float64)
    wide = df.group_by(by).agg(
        v.count().cast(pl.Float64).alias("N"), v.mean().alias("MEAN"), v.std().alias("SD"), v.median().alias("MEDIAN"),
        v.quantile(0.25, "linear").alias("Q1"), v.quantile(0.75, "linear").alias("Q3"), v.min().alias("MIN"), v.max().alias("MAX"))
    return wide.unpivot(list(CONTINUOUS), index=by, variable_name="STATISTIC", value_name="VALUE")


def frequency(df: pl.DataFrame, category: pl.Expr, by: list[str], n_total: int, levels: list[str] | None = None) -> pl.DataFrame:
    """Long rows ``n`` and ``PCT`` (of ``n_total``) per category; ``levels`` kept with 0."""
    counts = df.group_by([*by, category.cast(pl.String).alias("CATEGORY")]).agg(pl.len().cast(pl.Float64).alias("n"))
    if levels:
        keys = df.select(by).unique() if by else pl.DataFrame()
        grid = pl.DataFrame({"CATEGORY": levels})
        grid = keys.join(grid, how="cross") if by else grid
        counts = grid.join(counts, on=[*by, "CATEGORY"], how="full", coalesce=True).with_columns(pl.col("n").fill_null(0.0))
    counts = counts.with_columns((100.0 * pl.col("n") / n_total if n_total else pl.lit(None, pl.Float64)).alias("PCT"))
    return counts.unpivot(["n", "PCT"], index=[*by, "CATEGORY"], variable_name="STATISTIC", value_name="VALUE")


def _rows(df: pl.DataFrame, drug: str | None, parameter: str) -> pl.DataFrame:
    if drug is not None:
        df = df.with_columns(pl.lit(drug).alias("DRUG"))
    if "CATEGORY" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.String).alias("CATEGORY"))
    return df.with_columns(pl.lit(parameter).alias("PARAMETER")).select(list(SCHEMA)).cast(SCHEMA)


def exposure_summary(adsl: pl.DataFrame, adex: pl.DataFrame | None, *, max_cycles: int) -> pl.DataFrame:
    """``ep_exposure``: cycles started (continuous + frequency 1..max_cycles), treatment
    duration in weeks, end-of-treatment reasons; per drug CUMDOSE / ADI / RDI / RD (n, mean,
    SD, median, Q1, Q3, min, max), RDI >= 80%, >= 1 dose reduction, >= 1 cycle delay (n, %)."""
    saf = adsl.with_columns(pl.col("USUBJID").cast(pl.String)).join(population(adsl, "SAFFL"), on="USUBJID", how="semi")
    n = saf.height

    def col(name: str, dtype: pl.DataType = pl.Float64) -> pl.Expr:
        return pl.col(name) if name in saf.columns else pl.lit(None, dtype)

    parts = [_rows(describe(saf, col("TRTDURD") / 7, []), ALL, "TREATMENT_DURATION_WEEKS")]
    if "NCYCLE" in saf.columns and saf["NCYCLE"].null_count() < n:
        parts += [_rows(describe(saf, col("NCYCLE"), []), ALL, "CYCLES_STARTED"),
                  _rows(frequency(saf.filter(col("NCYCLE").is_not_null()), col("NCYCLE").cast(pl.Int64), [], n,
                                  [str(k) for k in range(1, max_cycles + 1)]), ALL, "CYCLES_STARTED")]
    if "EOTSTT" in saf.columns and saf["EOTSTT"].null_count() < n:
        reason = pl.when(pl.col("EOTSTT") == "DISCONTINUED").then(pl.coalesce(col("DCTREAS", pl.String), pl.lit("DISCONTINUED"))).otherwise(pl.col("EOTSTT"))
        parts.append(_rows(frequency(saf, reason.fill_null("MISSING"), [], n), ALL, "END_OF_TREATMENT"))
    if adex is not None and {"PARAMCD", "EXTRT", "AVAL"} <= set(adex.columns):
        prm = adex.filter(pl.col("PARAMCD").is_in([*DRUG_PARAMS, "NDOSRED", "NDELAY"])).with_columns(
            pl.col("USUBJID").cast(pl.String), pl.col("EXTRT").alias("DRUG")).join(saf.select("USUBJID"), on="USUBJID", how="semi")
        for paramcd, name in DRUG_PARAMS.items():
            parts.append(_rows(describe(prm.filter(pl.col("PARAMCD") == paramcd), pl.col("AVAL"), ["DRUG"]), None, name))
        flags = {"RDI_GE_80": ("RDI", pl.col("AVAL") >= 80), "DOSE_REDUCED": ("NDOSRED", pl.col("AVAL") >= 1),
                 "CYCLE_DELAYED": ("NDELAY", pl.col("AVAL") >= 1)}
        for name, (paramcd, cond) in flags.items():
            sub = prm.filter((pl.col("PARAMCD") == paramcd) & pl.col("AVAL").is_not_null())
            if sub.is_empty():
                continue
            per_drug = frequency(sub.filter(cond), pl.lit("Y"), ["DRUG"], n, ["Y"])
            subj_any = sub.filter(cond).select("USUBJID").unique()
            parts += [_rows(per_drug, None, name), _rows(frequency(subj_any, pl.lit("Y"), [], n, ["Y"]), ALL, name)]
    return pl.concat(parts).sort("DRUG", "PARAMETER", "CATEGORY", "STATISTIC", nulls_last=True)
